// HTTP side of bucket CORS: Get/Put/DeleteBucketCors, the preflight OPTIONS request (answered
// without authentication: browsers send no credentials with it), and the Access-Control-* headers
// added to answers of cross-origin requests.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import type { Backend } from '../backend/types.ts';
import type { OperationContext } from '../ops/context.ts';
import { corsHeadersFor, deleteBucketCors, getBucketCors, preflight, putBucketCors } from '../ops/cors.ts';
import { readVerifiedXml } from './checksum-body.ts';
import { corsXml } from './cors.ts';
import { headerValue } from './headers.ts';
import type { HeaderBag } from './headers.ts';
import type { ResolvedRequest } from './route.ts';
import { splitTarget } from './route.ts';

export type CorsOperation = 'GetBucketCors' | 'PutBucketCors' | 'DeleteBucketCors';

export async function dispatchCors(
  operation: CorsOperation,
  ctx: OperationContext,
  resolved: ResolvedRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: GatewayAuth,
  authRequest: AuthRequest,
): Promise<unknown> {
  const bucket = resolved.bucket as string;
  switch (operation) {
    case 'GetBucketCors':
      return reply.type('application/xml').send(corsXml(await getBucketCors(ctx, bucket)));
    case 'PutBucketCors': {
      const text = await readVerifiedXml(ctx, request, auth, authRequest, { requireIntegrity: true });
      await putBucketCors(ctx, bucket, text);
      return reply.send();
    }
    case 'DeleteBucketCors':
      await deleteBucketCors(ctx, bucket);
      return reply.code(204).send();
  }
}

function targetOf(
  request: FastifyRequest,
  rawPath: string,
  domain: string | undefined,
): { bucket?: string; key?: string } {
  try {
    return splitTarget({
      method: request.method,
      rawPath,
      rawQuery: '',
      ...(request.headers.host === undefined ? {} : { host: request.headers.host }),
      ...(domain === undefined ? {} : { domain }),
    });
  } catch {
    return {};
  }
}

/** Answers an OPTIONS request (a CORS preflight): 200 with the matching rule's headers, else an S3 error. */
export async function handlePreflight(
  backend: Backend,
  request: FastifyRequest,
  reply: FastifyReply,
  rawPath: string,
  domain: string | undefined,
): Promise<unknown> {
  const headers = request.headers as HeaderBag;
  const { bucket, key } = targetOf(request, rawPath, domain);
  const answer = await preflight(backend, {
    bucket,
    key,
    origin: headerValue(headers, 'origin'),
    method: headerValue(headers, 'access-control-request-method'),
    requestHeaders: headerValue(headers, 'access-control-request-headers'),
  });
  return reply.headers(answer).send();
}

/**
 * Access-Control-* headers for the answer to a request with an Origin header (not preflights):
 * those of the bucket's first rule allowing the origin and method; none when no rule does.
 */
export async function crossOriginHeaders(
  backend: Backend,
  request: FastifyRequest,
  rawPath: string,
  domain: string | undefined,
  bucket: string | undefined,
): Promise<Record<string, string>> {
  const origin = headerValue(request.headers as HeaderBag, 'origin');
  if (origin === undefined || request.method === 'OPTIONS') return {};
  const target = bucket ?? targetOf(request, rawPath, domain).bucket;
  if (target === undefined) return {};
  return corsHeadersFor(backend, target, origin, request.method);
}
