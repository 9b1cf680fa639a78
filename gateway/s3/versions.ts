// Versions for a store that keeps one version per key (pure): every object is the `null` version,
// as S3 shows objects of a bucket that never had versioning enabled. ListObjectVersions parameters
// and document, GetBucketVersioning / PutBucketVersioning documents, and `?versionId=` checks.
import type { ObjectInfo } from '../backend/types.ts';
import { InvalidArgument, MalformedXML, NotImplemented, S3Error } from '../errors.ts';
import { parseMaxKeys, s3UrlEncode } from './list-params.ts';
import type { Query } from './list-params.ts';
import { parseXmlBody, renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';

/** The version id S3 gives objects written while versioning was never enabled (or suspended). */
export const NULL_VERSION = 'null';

export const NoSuchVersion = (key: string, versionId: string): S3Error =>
  new S3Error(
    'NoSuchVersion',
    'The specified version does not exist. This store keeps only the current (null) version of each object.',
    404,
    { details: { Key: key, VersionId: versionId } },
  );

/**
 * `?versionId=` on an object request: `null` names the current object; the store keeps no other
 * version, so any other id names nothing (NoSuchVersion); an empty one is refused as S3 does.
 */
export function checkVersionId(query: Query, key: string): void {
  const versionId = query.versionId;
  if (versionId === undefined || versionId === NULL_VERSION) return;
  if (versionId === '') throw InvalidArgument('Version id cannot be the empty string', 'versionId', '');
  throw NoSuchVersion(key, versionId);
}

export interface ListVersionsParams {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  versionIdMarker: string;
  maxKeys: number;
  encodeUrl: boolean;
  /** Exclusive lower bound for the key listing that the markers resolve to. */
  after: string;
}

export function parseListVersionsParams(query: Query): ListVersionsParams {
  const keyMarker = query['key-marker'] ?? '';
  const versionIdMarker = query['version-id-marker'] ?? '';
  if (versionIdMarker !== '' && keyMarker === '')
    throw InvalidArgument(
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      versionIdMarker,
    );
  if (versionIdMarker !== '' && versionIdMarker !== NULL_VERSION)
    throw InvalidArgument('Invalid version id specified', 'version-id-marker', versionIdMarker);
  const encoding = query['encoding-type'];
  if (encoding !== undefined && encoding !== '' && encoding.toLowerCase() !== 'url')
    throw InvalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
  return {
    prefix: query.prefix ?? '',
    delimiter: query.delimiter ?? '',
    keyMarker,
    versionIdMarker,
    maxKeys: parseMaxKeys(query['max-keys']),
    encodeUrl: encoding !== undefined && encoding !== '',
    // Each key has one version (null): after key K (or after K's null version) comes the next key.
    after: keyMarker,
  };
}

export interface ListVersionsDocument {
  bucket: string;
  params: ListVersionsParams;
  owner: string;
  isTruncated: boolean;
  versions: readonly ObjectInfo[];
  commonPrefixes: readonly string[];
  /** When truncated: the last key or common prefix returned. */
  nextKeyMarker?: string;
}

export function listVersionsXml(doc: ListVersionsDocument): string {
  const { params } = doc;
  const encode = params.encodeUrl ? s3UrlEncode : (s: string): string => s;
  const next = doc.isTruncated ? doc.nextKeyMarker : undefined;
  const nextIsKey = next !== undefined && !doc.commonPrefixes.includes(next);
  return renderDocument([
    'ListVersionsResult',
    ['Name', doc.bucket],
    ['Prefix', encode(params.prefix)],
    ['KeyMarker', encode(params.keyMarker)],
    ['VersionIdMarker', params.versionIdMarker],
    next === undefined ? undefined : ['NextKeyMarker', encode(next)],
    nextIsKey ? ['NextVersionIdMarker', NULL_VERSION] : undefined,
    ['MaxKeys', params.maxKeys],
    params.delimiter === '' ? undefined : ['Delimiter', encode(params.delimiter)],
    params.encodeUrl ? ['EncodingType', 'url'] : undefined,
    ['IsTruncated', doc.isTruncated],
    ...doc.versions.map((info): XmlNode => [
      'Version',
      ['Key', encode(info.key)],
      ['VersionId', NULL_VERSION],
      ['IsLatest', true],
      ['LastModified', info.lastModified.toISOString()],
      ['ETag', info.etag],
      ['Size', info.size],
      ['Owner', ['ID', doc.owner], ['DisplayName', doc.owner]],
      ['StorageClass', 'STANDARD'],
    ]),
    ...doc.commonPrefixes.map((prefix): XmlNode => ['CommonPrefixes', ['Prefix', encode(prefix)]]),
  ]);
}

/** GetBucketVersioning: empty for a bucket that never had versioning set, else its Status. */
export function versioningXml(state: 'Suspended' | undefined): string {
  return renderDocument(['VersioningConfiguration', state === undefined ? undefined : ['Status', state]]);
}

export interface VersioningRequest {
  status?: 'Enabled' | 'Suspended';
  mfaDelete?: 'Enabled' | 'Disabled';
}

export function parseVersioningXml(text: string): VersioningRequest {
  const document = parseXmlBody(text);
  const root = document.VersioningConfiguration;
  if (root === undefined) throw MalformedXML('expected a VersioningConfiguration element');
  if (root === '' || root === null) return {};
  if (typeof root !== 'object' || Array.isArray(root))
    throw MalformedXML('VersioningConfiguration must contain elements');
  const r = root as Record<string, unknown>;
  const request: VersioningRequest = {};
  if (r.Status !== undefined) {
    if (r.Status !== 'Enabled' && r.Status !== 'Suspended')
      throw MalformedXML('Status must be Enabled or Suspended');
    request.status = r.Status;
  }
  if (r.MfaDelete !== undefined) {
    if (r.MfaDelete !== 'Enabled' && r.MfaDelete !== 'Disabled')
      throw MalformedXML('MfaDelete must be Enabled or Disabled');
    request.mfaDelete = r.MfaDelete;
  }
  return request;
}

/**
 * What PutBucketVersioning may change here: only Suspended (our behaviour already: one `null`
 * version per key). Enabling versioning or MFA delete would be a wrong success, so they are refused.
 * Returns the state to store, or undefined for a document without a Status (no change).
 */
export function versioningStateToStore(request: VersioningRequest): 'Suspended' | undefined {
  if (request.mfaDelete === 'Enabled')
    throw NotImplemented('MFA delete (this store does not keep object versions)');
  if (request.status === 'Enabled')
    throw NotImplemented(
      'bucket versioning Enabled: this store keeps only the current version of each object (Suspended is accepted)',
    );
  return request.status;
}
