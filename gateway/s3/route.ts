// Request line → S3 operation (pure). Path-style `/{bucket}/{key…}` and, when a domain is
// configured, virtual-hosted style `{bucket}.{domain}/{key…}`. Keys are the percent-decoded path
// bytes as UTF-8 ('+' stays '+': only the query uses form encoding).
import { InvalidRequest, InvalidURI, KeyTooLong, MethodNotAllowed, NotImplemented } from '../errors.ts';
import type { Query } from './list-params.ts';

export type OperationName =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'ListObjectsV2'
  | 'ListObjects'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'CopyObject'
  | 'DeleteObjects'
  | 'ListObjectVersions'
  | 'GetBucketVersioning'
  | 'PutBucketVersioning'
  | 'GetObjectTagging'
  | 'PutObjectTagging'
  | 'DeleteObjectTagging'
  | 'GetBucketCors'
  | 'PutBucketCors'
  | 'DeleteBucketCors';

export interface ResolvedRequest {
  operation: OperationName;
  bucket?: string;
  key?: string;
  query: Query;
}

export const MAX_KEY_BYTES = 1024;

// Query parameters naming a sub-resource or feature we do not implement yet: these must answer
// NotImplemented rather than fall through to the plain operation (which would be a wrong success).
const UNIMPLEMENTED_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'torrent',
  'website',
] as const;

// Request headers that select features we do not implement yet.
const UNIMPLEMENTED_HEADERS: Record<string, string> = {
  'x-amz-server-side-encryption-customer-algorithm': 'SSE-C',
  'x-amz-object-lock-mode': 'Object Lock',
  'x-amz-website-redirect-location': 'website redirects',
};

export function parseQuery(rawQuery: string): Query {
  const query: Query = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) if (!(name in query)) query[name] = value;
  return query;
}

function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw InvalidURI();
  }
}

export interface RouteInput {
  method: string;
  /** Path as sent, still percent-encoded, without the query. */
  rawPath: string;
  rawQuery: string;
  host?: string;
  /** Base domain for virtual-hosted style (e.g. "s3.example.test"); undefined = path style only. */
  domain?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** The bucket named by a virtual-hosted-style Host, if any. */
export function bucketFromHost(host: string | undefined, domain: string | undefined): string | undefined {
  if (host === undefined || domain === undefined || domain === '') return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = '.' + domain.toLowerCase();
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : undefined;
}

export function splitTarget(input: RouteInput): { bucket?: string; key?: string } {
  const hostBucket = bucketFromHost(input.host, input.domain);
  const path = input.rawPath.startsWith('/') ? input.rawPath.slice(1) : input.rawPath;
  if (hostBucket !== undefined) {
    return path === '' ? { bucket: hostBucket } : { bucket: hostBucket, key: decodePathPart(path) };
  }
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodePathPart(path) };
  const bucket = decodePathPart(path.slice(0, slash));
  const rawKey = path.slice(slash + 1);
  return rawKey === '' ? { bucket } : { bucket, key: decodePathPart(rawKey) };
}

/** Multipart upload and copy operations on an object (undefined: a plain object operation). */
function multipartOperation(
  method: string,
  query: Query,
  headers: RouteInput['headers'],
): OperationName | undefined {
  const copy = headers?.['x-amz-copy-source'] !== undefined;
  if ('uploadId' in query) {
    switch (method) {
      case 'PUT':
        return copy ? 'UploadPartCopy' : 'UploadPart';
      case 'POST':
        return 'CompleteMultipartUpload';
      case 'DELETE':
        return 'AbortMultipartUpload';
      case 'GET':
        return 'ListParts';
      default:
        throw MethodNotAllowed(method, 'OBJECT', ['GET', 'PUT', 'POST', 'DELETE']);
    }
  }
  if ('uploads' in query) {
    if (method === 'POST') return 'CreateMultipartUpload';
    throw MethodNotAllowed(method, 'OBJECT', ['POST']);
  }
  if ('partNumber' in query && method !== 'GET' && method !== 'HEAD')
    throw InvalidRequest('partNumber needs uploadId (UploadPart) or a GET/HEAD of the object');
  if (method === 'PUT' && copy) return 'CopyObject';
  return undefined;
}

/**
 * DeleteObjects, versions, tagging and CORS (undefined: none of these). Sub-resources that exist
 * only for buckets (or only for objects) answer NotImplemented on the other, never a wrong success.
 */
function apiOperation(
  method: string,
  query: Query,
  key: string | undefined,
  headers: RouteInput['headers'],
): OperationName | undefined {
  if (key === undefined) {
    if ('tagging' in query) throw NotImplemented('bucket tagging (?tagging on a bucket)');
    if ('versionId' in query) throw NotImplemented('?versionId on a bucket');
    if ('delete' in query) {
      if (method === 'POST') return 'DeleteObjects';
      throw MethodNotAllowed(method, 'BUCKET', ['POST']);
    }
    if ('versions' in query) {
      if (method === 'GET') return 'ListObjectVersions';
      throw MethodNotAllowed(method, 'BUCKET', ['GET']);
    }
    if ('versioning' in query) {
      if (method === 'GET') return 'GetBucketVersioning';
      if (method === 'PUT') return 'PutBucketVersioning';
      throw MethodNotAllowed(method, 'BUCKET', ['GET', 'PUT']);
    }
    if ('cors' in query) {
      if (method === 'GET') return 'GetBucketCors';
      if (method === 'PUT') return 'PutBucketCors';
      if (method === 'DELETE') return 'DeleteBucketCors';
      throw MethodNotAllowed(method, 'BUCKET', ['GET', 'PUT', 'DELETE']);
    }
    return undefined;
  }
  for (const name of ['delete', 'versions', 'versioning', 'cors'])
    if (name in query) throw NotImplemented(`?${name} on an object`);
  if ('tagging' in query) {
    if (method === 'GET') return 'GetObjectTagging';
    if (method === 'PUT') return 'PutObjectTagging';
    if (method === 'DELETE') return 'DeleteObjectTagging';
    throw MethodNotAllowed(method, 'OBJECT', ['GET', 'PUT', 'DELETE']);
  }
  // versionId is honoured (null = the current object) by GET, HEAD and DELETE of an object and by
  // tagging; anything else with a version id would silently ignore it.
  const plainRead = method === 'GET' || method === 'HEAD' || method === 'DELETE';
  const multipart = 'uploadId' in query || 'uploads' in query;
  if ('versionId' in query && (!plainRead || multipart))
    throw NotImplemented(`?versionId on ${method} of an object`);
  // x-amz-tagging is stored by PutObject, CopyObject and CreateMultipartUpload; a part has no tags.
  const tagging = headers?.['x-amz-tagging'] !== undefined;
  if (tagging && ('uploadId' in query || (method === 'POST' && !('uploads' in query))))
    throw NotImplemented('x-amz-tagging on multipart parts and POST uploads');
  return undefined;
}

export function resolveRequest(input: RouteInput): ResolvedRequest {
  const method = input.method.toUpperCase();
  const query = parseQuery(input.rawQuery);
  const { bucket, key } = splitTarget(input);
  if (key !== undefined && Buffer.byteLength(key) > MAX_KEY_BYTES) throw KeyTooLong();

  if (bucket === undefined) {
    if (method === 'GET') return { operation: 'ListBuckets', query };
    throw MethodNotAllowed(method, 'SERVICE', ['GET']);
  }

  for (const name of UNIMPLEMENTED_SUBRESOURCES)
    if (name in query)
      throw NotImplemented(`?${name} on ${method} ${key === undefined ? 'bucket' : 'object'}`);

  const api = apiOperation(method, query, key, input.headers);
  if (api !== undefined) return { operation: api, bucket, ...(key === undefined ? {} : { key }), query };

  if (key === undefined) {
    switch (method) {
      case 'GET':
        if ('location' in query) return { operation: 'GetBucketLocation', bucket, query };
        if ('uploads' in query) return { operation: 'ListMultipartUploads', bucket, query };
        if (query['list-type'] === '2') return { operation: 'ListObjectsV2', bucket, query };
        if (query['list-type'] !== undefined) throw NotImplemented(`list-type=${query['list-type']}`);
        return { operation: 'ListObjects', bucket, query };
      case 'PUT':
        return { operation: 'CreateBucket', bucket, query };
      case 'HEAD':
        return { operation: 'HeadBucket', bucket, query };
      case 'DELETE':
        return { operation: 'DeleteBucket', bucket, query };
      case 'POST':
        throw NotImplemented('POST on a bucket (browser uploads)');
      default:
        throw MethodNotAllowed(method, 'BUCKET', ['GET', 'PUT', 'HEAD', 'DELETE']);
    }
  }

  if (method === 'PUT' && input.headers !== undefined) {
    for (const [header, what] of Object.entries(UNIMPLEMENTED_HEADERS))
      if (input.headers[header] !== undefined) throw NotImplemented(what);
  }
  const multipart = multipartOperation(method, query, input.headers);
  if (multipart !== undefined) return { operation: multipart, bucket, key, query };
  switch (method) {
    case 'GET':
      return { operation: 'GetObject', bucket, key, query };
    case 'HEAD':
      return { operation: 'HeadObject', bucket, key, query };
    case 'PUT':
      return { operation: 'PutObject', bucket, key, query };
    case 'DELETE':
      return { operation: 'DeleteObject', bucket, key, query };
    case 'POST':
      throw NotImplemented('POST on an object');
    default:
      throw MethodNotAllowed(method, 'OBJECT', ['GET', 'PUT', 'HEAD', 'DELETE']);
  }
}
