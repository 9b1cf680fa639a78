// The S3 XML documents the gateway returns (pure renderers over typed results).
import type { BucketInfo, ObjectInfo } from '../backend/types.ts';
import { s3UrlEncode } from './list-params.ts';
import { renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';

export interface ErrorDocument {
  code: string;
  message: string;
  resource: string;
  requestId: string;
  hostId: string;
  details?: Readonly<Record<string, string>>;
}

export function errorXml(error: ErrorDocument): string {
  const details = Object.entries(error.details ?? {}).map(([name, value]): XmlNode => [name, value]);
  return renderDocument(
    [
      'Error',
      ['Code', error.code],
      ['Message', error.message],
      ...details,
      ['Resource', error.resource],
      ['RequestId', error.requestId],
      ['HostId', error.hostId],
    ],
    null,
  );
}

function ownerNode(accountId: string): XmlNode {
  return ['Owner', ['ID', accountId], ['DisplayName', accountId]];
}

export function listAllMyBucketsXml(ownerId: string, buckets: readonly BucketInfo[]): string {
  return renderDocument([
    'ListAllMyBucketsResult',
    ownerNode(ownerId),
    [
      'Buckets',
      ...buckets.map((bucket): XmlNode => [
        'Bucket',
        ['Name', bucket.name],
        ['CreationDate', bucket.created.toISOString()],
        ...(bucket.region === '' ? [] : [['BucketRegion', bucket.region] as XmlNode]),
      ]),
    ],
  ]);
}

export function locationConstraintXml(region: string): string {
  // us-east-1 is reported as an empty LocationConstraint, as S3 does.
  return renderDocument(['LocationConstraint', region === 'us-east-1' ? '' : region]);
}

function contentsNode(info: ObjectInfo, encode: (s: string) => string, owner: string | undefined): XmlNode {
  return [
    'Contents',
    ['Key', encode(info.key)],
    ['LastModified', info.lastModified.toISOString()],
    ['ETag', info.etag],
    ['Size', info.size],
    ['StorageClass', 'STANDARD'],
    owner === undefined ? undefined : ownerNode(owner),
  ];
}

export interface ListV2Document {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  encodeUrl: boolean;
  startAfter: string;
  continuationToken?: string;
  nextContinuationToken?: string;
  isTruncated: boolean;
  contents: readonly ObjectInfo[];
  commonPrefixes: readonly string[];
  /** Owner account, when fetch-owner=true. */
  owner?: string;
}

export function listObjectsV2Xml(doc: ListV2Document): string {
  const encode = doc.encodeUrl ? s3UrlEncode : (s: string): string => s;
  return renderDocument([
    'ListBucketResult',
    ['Name', doc.bucket],
    ['Prefix', encode(doc.prefix)],
    doc.delimiter === '' ? undefined : ['Delimiter', encode(doc.delimiter)],
    ['MaxKeys', doc.maxKeys],
    doc.encodeUrl ? ['EncodingType', 'url'] : undefined,
    ['KeyCount', doc.contents.length + doc.commonPrefixes.length],
    ['IsTruncated', doc.isTruncated],
    doc.continuationToken === undefined ? undefined : ['ContinuationToken', doc.continuationToken],
    doc.nextContinuationToken === undefined
      ? undefined
      : ['NextContinuationToken', doc.nextContinuationToken],
    doc.startAfter === '' ? undefined : ['StartAfter', encode(doc.startAfter)],
    ...doc.contents.map((info) => contentsNode(info, encode, doc.owner)),
    ...doc.commonPrefixes.map((prefix): XmlNode => ['CommonPrefixes', ['Prefix', encode(prefix)]]),
  ]);
}

export interface ListV1Document {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  encodeUrl: boolean;
  marker: string;
  nextMarker?: string;
  isTruncated: boolean;
  contents: readonly ObjectInfo[];
  commonPrefixes: readonly string[];
  owner: string;
}

export function listObjectsV1Xml(doc: ListV1Document): string {
  const encode = doc.encodeUrl ? s3UrlEncode : (s: string): string => s;
  return renderDocument([
    'ListBucketResult',
    ['Name', doc.bucket],
    ['Prefix', encode(doc.prefix)],
    ['Marker', encode(doc.marker)],
    doc.nextMarker === undefined ? undefined : ['NextMarker', encode(doc.nextMarker)],
    ['MaxKeys', doc.maxKeys],
    doc.delimiter === '' ? undefined : ['Delimiter', encode(doc.delimiter)],
    doc.encodeUrl ? ['EncodingType', 'url'] : undefined,
    ['IsTruncated', doc.isTruncated],
    ...doc.contents.map((info) => contentsNode(info, encode, doc.owner)),
    ...doc.commonPrefixes.map((prefix): XmlNode => ['CommonPrefixes', ['Prefix', encode(prefix)]]),
  ]);
}
