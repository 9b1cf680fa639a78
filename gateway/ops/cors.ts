// Bucket CORS: Get/Put/DeleteBucketCors, the unauthenticated preflight (OPTIONS), and the
// Access-Control-* headers of cross-origin requests.
import type { Backend, CorsRule } from '../backend/types.ts';
import { S3Error, isS3Error } from '../errors.ts';
import {
  CorsForbidden,
  NoSuchCORSConfiguration,
  matchPreflight,
  matchRequest,
  parseCorsXml,
  parseHeaderList,
  preflightHeaders,
  requestCorsHeaders,
} from '../s3/cors.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

export async function getBucketCors(ctx: OperationContext, bucket: string): Promise<CorsRule[]> {
  const info = await ownedBucket(ctx, bucket);
  if (info.cors === undefined) throw NoSuchCORSConfiguration(bucket);
  return info.cors;
}

export async function putBucketCors(ctx: OperationContext, bucket: string, corsXml: string): Promise<void> {
  const rules = parseCorsXml(corsXml);
  await ownedBucket(ctx, bucket);
  await ctx.backend.updateBucketSettings(bucket, (current) => ({ ...current, cors: rules }));
}

export async function deleteBucketCors(ctx: OperationContext, bucket: string): Promise<void> {
  await ownedBucket(ctx, bucket);
  await ctx.backend.updateBucketSettings(bucket, ({ cors: _cors, ...rest }) => rest);
}

export interface PreflightRequest {
  bucket: string | undefined;
  /** undefined for the bucket itself. */
  key: string | undefined;
  origin: string | undefined;
  method: string | undefined;
  requestHeaders: string | undefined;
}

/**
 * A browser's preflight (OPTIONS, no credentials): the headers of the first rule allowing the
 * origin, method and requested headers, else 403 as S3 answers.
 */
export async function preflight(
  backend: Backend,
  request: PreflightRequest,
): Promise<Record<string, string>> {
  if (request.origin === undefined || request.origin === '')
    throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.', 400);
  if (request.method === undefined || request.method === '')
    throw new S3Error(
      'BadRequest',
      'Invalid Access-Control-Request-Method: null. Access-Control-Request-Method request header needed.',
      400,
    );
  const resourceType = request.key === undefined ? 'BUCKET' : 'OBJECT';
  const method = request.method.toUpperCase();
  const notEnabled = CorsForbidden('CORS is not enabled for this bucket.', method, resourceType);
  if (request.bucket === undefined) throw notEnabled;
  let rules: CorsRule[] | undefined;
  try {
    rules = (await backend.headBucket(request.bucket)).cors;
  } catch (error) {
    // A missing bucket looks like one without CORS: unauthenticated callers learn nothing more.
    if (isS3Error(error) && error.code === 'NoSuchBucket') throw notEnabled;
    throw error;
  }
  if (rules === undefined) throw notEnabled;
  const headers = parseHeaderList(request.requestHeaders);
  const rule = matchPreflight(rules, request.origin, method, headers);
  if (rule === undefined)
    throw CorsForbidden(
      "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      method,
      resourceType,
    );
  return preflightHeaders(rule, request.origin, headers);
}

/** Access-Control-* headers for an actual request from `origin` (empty when no rule allows it). */
export async function corsHeadersFor(
  backend: Backend,
  bucket: string,
  origin: string,
  method: string,
): Promise<Record<string, string>> {
  let rules: CorsRule[] | undefined;
  try {
    rules = (await backend.headBucket(bucket)).cors;
  } catch {
    return {};
  }
  const rule = rules === undefined ? undefined : matchRequest(rules, origin, method.toUpperCase());
  return rule === undefined ? {} : requestCorsHeaders(rule, origin);
}
