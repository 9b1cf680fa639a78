// The gateway's Fastify app. Handlers only translate: HTTP request → typed operation (gateway/ops)
// → typed result → headers + S3 XML. Bodies are never buffered by Fastify: PUT streams the raw
// request into the backend, GET streams the backend's iterable into the response.
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Backend } from './backend/types.ts';
import type { AuthRequest, GatewayAuth, Identity } from './auth-contract.ts';
import { ACTION_OF } from './auth-contract.ts';
import { AccessDenied, InternalError, InvalidURI, MissingContentLength, S3Error } from './errors.ts';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './ops/buckets.ts';
import { deleteObject, getObject, headObject, putObject } from './ops/objects.ts';
import { listObjectsV1, listObjectsV2 } from './ops/list.ts';
import type { OperationContext } from './ops/context.ts';
import { resolveRequest, bucketFromHost } from './s3/route.ts';
import type { ResolvedRequest } from './s3/route.ts';
import {
  errorXml,
  listAllMyBucketsXml,
  listObjectsV1Xml,
  listObjectsV2Xml,
  locationConstraintXml,
} from './s3/documents.ts';
import { headerValue, metadataFromHeaders, objectResponseHeaders, parseContentMd5 } from './s3/headers.ts';
import type { HeaderBag } from './s3/headers.ts';
import { contentRangeHeader, parseRangeHeader } from './s3/range.ts';
import type { ConditionalHeaders } from './s3/conditionals.ts';
import { parseListV1Params, parseListV2Params } from './s3/list-params.ts';
import { HEALTH_PATH, READY_PATH } from './health.ts';
import { parseLength, readSmallBody } from './s3/small-body.ts';
import type { GatewayOps } from './admin/ops.ts';
import { runWithRequestId } from '../shared/logging/request-context.ts';
import { dispatchMultipart } from './s3/multipart-handlers.ts';
import { parsePartNumber } from './s3/multipart-params.ts';
import { getObjectPart, headObjectPart, partsCount } from './ops/multipart.ts';
import { handleDeleteObjects } from './s3/delete-objects-handler.ts';
import { dispatchVersions } from './s3/versions-handlers.ts';
import { dispatchTagging } from './s3/tagging-handlers.ts';
import { crossOriginHeaders, dispatchCors, handlePreflight } from './s3/cors-handlers.ts';
import { checksumHeadersForRead, checksumResponseHeaders } from './s3/checksum.ts';
import { parseTaggingHeader } from './s3/tagging.ts';
import { checkVersionId } from './s3/versions.ts';
import { newHostId, newRequestId } from './s3/request-ids.ts';

export interface GatewayAppOptions {
  backend: Backend;
  auth: GatewayAuth;
  /** Region this gateway serves (default us-east-1). */
  region?: string;
  /** Base domain for virtual-hosted-style requests (`bucket.<domain>`); path style always works. */
  domain?: string;
  logger?: FastifyServerOptions['logger'];
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Metrics, admin API and status page under /_predastore/ (gateway/admin, docs/operations.md). */
  ops?: GatewayOps;
}

/** Largest request body read into memory for bucket-level XML (CreateBucketConfiguration). */
const MAX_XML_BODY = 64 * 1024;
const XML = 'application/xml';

interface S3RequestState {
  requestId: string;
  hostId: string;
  resolved?: ResolvedRequest;
  identity?: Identity;
  authRequest?: AuthRequest;
}

declare module 'fastify' {
  interface FastifyRequest {
    s3: S3RequestState;
  }
}

function splitUrl(rawUrl: string): { rawPath: string; rawQuery: string } {
  const q = rawUrl.indexOf('?');
  return q < 0
    ? { rawPath: rawUrl, rawQuery: '' }
    : { rawPath: rawUrl.slice(0, q), rawQuery: rawUrl.slice(q + 1) };
}

/** Anything carrying an S3 error code and an HTTP status (S3Error, the auth layer's errors). */
function asS3Error(error: unknown): S3Error {
  if (error instanceof S3Error) return error;
  if (error !== null && typeof error === 'object') {
    const e = error as {
      code?: unknown;
      status?: unknown;
      statusCode?: unknown;
      message?: unknown;
      details?: unknown;
    };
    if (typeof e.code === 'string' && typeof e.status === 'number' && /^[A-Z]/.test(e.code)) {
      const details =
        e.details !== null && typeof e.details === 'object'
          ? (e.details as Record<string, string>)
          : undefined;
      return new S3Error(e.code, String(e.message ?? e.code), e.status, {
        ...(details === undefined ? {} : { details }),
        cause: error,
      });
    }
    if (e.code === 'FST_ERR_BAD_URL') return InvalidURI();
  }
  return InternalError(error);
}

function conditionalHeaders(headers: HeaderBag): ConditionalHeaders {
  const result: ConditionalHeaders = {};
  const ifMatch = headerValue(headers, 'if-match');
  const ifNoneMatch = headerValue(headers, 'if-none-match');
  const ifModifiedSince = headerValue(headers, 'if-modified-since');
  const ifUnmodifiedSince = headerValue(headers, 'if-unmodified-since');
  if (ifMatch !== undefined) result.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) result.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince !== undefined) result.ifModifiedSince = ifModifiedSince;
  if (ifUnmodifiedSince !== undefined) result.ifUnmodifiedSince = ifUnmodifiedSince;
  return result;
}

// GetObject's response-* query parameters override the stored headers in the response.
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

export function buildGatewayApp(options: GatewayAppOptions): FastifyInstance {
  const { backend, auth } = options;
  const region = options.region ?? 'us-east-1';
  const app = Fastify({
    logger: options.logger ?? false,
    ...(options.https === undefined ? {} : { https: options.https }),
    exposeHeadRoutes: false,
    genReqId: newRequestId,
    routerOptions: { maxParamLength: 16 * 1024, ignoreTrailingSlash: false },
    // S3 clients keep connections alive for long; a stalled body must not hold a socket forever.
    requestTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  // Object bodies stay streams: every content type (and none) hands the raw request through.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.decorateRequest('s3', undefined as unknown as S3RequestState);

  app.addHook('onRequest', async (request, reply) => {
    request.s3 = { requestId: request.id, hostId: newHostId() };
    reply.header('x-amz-request-id', request.s3.requestId);
    reply.header('x-amz-id-2', request.s3.hostId);
    reply.header('server', 'Predastore');
  });

  // The request id follows the request into the shard and s3db clients (shared/logging).
  app.addHook('onRequest', (request, _reply, done) => runWithRequestId(request.id, done));
  const ops = options.ops;
  const isOpsRequest = (request: FastifyRequest, rawPath: string): boolean =>
    ops !== undefined &&
    ops.handles(rawPath) &&
    bucketFromHost(request.headers.host, options.domain) === undefined;
  if (ops !== undefined) {
    app.addHook('onResponse', async (request, reply) =>
      ops.observe(request, reply, request.s3?.resolved?.operation),
    );
    app.addHook('onClose', async () => ops.close());
  }

  // The one place requests are authenticated and authorised (health endpoints are exempt).
  app.addHook('preHandler', async (request) => {
    const { rawPath, rawQuery } = splitUrl(request.raw.url ?? '/');
    if (isHealthRequest(request, rawPath, options.domain)) return;
    if (isOpsRequest(request, rawPath)) return; // authenticated and authorised by gateway/admin
    // CORS preflights carry no credentials (browsers send none); they only read bucket CORS rules.
    if (request.method === 'OPTIONS') return;
    const headers = request.headers as HeaderBag;
    // Authenticate before looking at what is asked, as S3 does: unsigned requests learn nothing.
    const authRequest: AuthRequest = { method: request.method, rawPath, query: rawQuery, headers };
    const identity = await auth.authenticate(authRequest);
    const resolved = resolveRequest({
      method: request.method,
      rawPath,
      rawQuery,
      ...(request.headers.host === undefined ? {} : { host: request.headers.host }),
      ...(options.domain === undefined ? {} : { domain: options.domain }),
      headers,
    });
    if (
      resolved.operation !== 'DeleteObjects' &&
      !auth.isAllowed(identity, ACTION_OF[resolved.operation], resolved.bucket)
    )
      throw AccessDenied();
    request.s3.resolved = resolved;
    request.s3.identity = identity;
    request.s3.authRequest = authRequest;
  });

  app.setErrorHandler((error, request, reply) => {
    const s3 = asS3Error(error);
    if (s3.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: s3.code }, s3.message);
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    reply.code(s3.status);
    for (const [name, value] of Object.entries(s3.headers)) reply.header(name, value);
    const state = request.s3 as S3RequestState | undefined;
    if (s3.status === 304 || request.method === 'HEAD') return reply.send();
    const { rawPath } = splitUrl(request.raw.url ?? '/');
    let resource: string;
    try {
      resource = decodeURIComponent(rawPath);
    } catch {
      resource = rawPath;
    }
    reply.header('content-type', XML);
    return reply.send(
      errorXml({
        code: s3.code,
        message: s3.message,
        resource,
        requestId: state?.requestId ?? request.id,
        hostId: state?.hostId ?? '',
        details: s3.details,
      }),
    );
  });

  // Cross-origin requests (an Origin header) get the Access-Control-* headers of the bucket's
  // matching CORS rule, on success and error answers alike.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.headers.origin === undefined || request.method === 'OPTIONS') return payload;
    const { rawPath } = splitUrl(request.raw.url ?? '/');
    if (isHealthRequest(request, rawPath, options.domain)) return payload;
    const bucket = (request.s3 as S3RequestState | undefined)?.resolved?.bucket;
    reply.headers(await crossOriginHeaders(backend, request, rawPath, options.domain, bucket));
    return payload;
  });

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'],
    url: '/*',
    handler: async (request, reply) => {
      const { rawPath } = splitUrl(request.raw.url ?? '/');
      if (isHealthRequest(request, rawPath, options.domain)) return handleHealth(request, reply, backend);
      if (ops !== undefined && isOpsRequest(request, rawPath)) return ops.handle(request, reply, auth);
      if (request.method === 'OPTIONS')
        return handlePreflight(backend, request, reply, rawPath, options.domain);
      const { resolved, identity, authRequest } = request.s3;
      if (resolved === undefined || identity === undefined || authRequest === undefined)
        throw InternalError(new Error('request reached the handler without authentication'));
      const ctx: OperationContext = { backend, identity, region };
      return dispatch(ctx, resolved, request, reply, auth, authRequest);
    },
  });

  app.addHook('onClose', async () => {
    await backend.close();
  });
  return app;
}

function isHealthRequest(request: FastifyRequest, rawPath: string, domain: string | undefined): boolean {
  if (rawPath !== HEALTH_PATH && rawPath !== READY_PATH) return false;
  return bucketFromHost(request.headers.host, domain) === undefined;
}

async function handleHealth(
  request: FastifyRequest,
  reply: FastifyReply,
  backend: Backend,
): Promise<unknown> {
  const { rawPath } = splitUrl(request.raw.url ?? '/');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    reply.code(405).header('allow', 'GET, HEAD');
    return reply.send();
  }
  reply.header('content-type', 'application/json').header('cache-control', 'no-store');
  if (rawPath === HEALTH_PATH) return reply.send({ status: 'ok' });
  try {
    await backend.ready();
    return reply.send({ status: 'ready', backend: backend.kind });
  } catch (error) {
    reply.code(503);
    return reply.send({ status: 'not ready', backend: backend.kind, reason: String(error) });
  }
}

async function dispatch(
  ctx: OperationContext,
  resolved: ResolvedRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: GatewayAuth,
  authRequest: AuthRequest,
): Promise<unknown> {
  const headers = request.headers as HeaderBag;
  const bucket = resolved.bucket as string;
  const key = resolved.key as string;
  switch (resolved.operation) {
    case 'ListBuckets': {
      const result = await listBuckets(ctx);
      return reply.type(XML).send(listAllMyBucketsXml(result.owner, result.buckets));
    }
    case 'CreateBucket': {
      const verified = auth.decodeBody(authRequest, ctx.identity, request.raw);
      const text = await readSmallBody(verified.body, MAX_XML_BODY);
      await verified.verified();
      const result = await createBucket(ctx, bucket, text);
      return reply.header('location', result.location).send();
    }
    case 'HeadBucket': {
      const result = await headBucket(ctx, bucket);
      return reply.header('x-amz-bucket-region', result.region).send();
    }
    case 'GetBucketLocation': {
      const result = await getBucketLocation(ctx, bucket);
      return reply.type(XML).send(locationConstraintXml(result.region));
    }
    case 'DeleteBucket':
      await deleteBucket(ctx, bucket);
      return reply.code(204).send();
    case 'ListObjectsV2': {
      const doc = await listObjectsV2(ctx, bucket, parseListV2Params(resolved.query));
      return reply.type(XML).send(listObjectsV2Xml(doc));
    }
    case 'ListObjects': {
      const doc = await listObjectsV1(ctx, bucket, parseListV1Params(resolved.query));
      return reply.type(XML).send(listObjectsV1Xml(doc));
    }
    case 'PutObject': {
      const contentMd5 = parseContentMd5(headerValue(headers, 'content-md5'));
      const metadata = metadataFromHeaders(headers);
      const taggingHeader = headerValue(headers, 'x-amz-tagging');
      const tags = taggingHeader === undefined ? undefined : parseTaggingHeader(taggingHeader);
      if (tags !== undefined && !auth.isAllowed(ctx.identity, 's3:PutObjectTagging', bucket))
        throw AccessDenied();
      const verified = auth.decodeBody(authRequest, ctx.identity, request.raw);
      const size = verified.decodedLength ?? parseLength(headerValue(headers, 'content-length'));
      if (size === undefined) throw MissingContentLength();
      const result = await putObject(ctx, {
        bucket,
        key,
        body: verified.body,
        metadata,
        size,
        ...(contentMd5 === undefined ? {} : { contentMd5 }),
        beforeCommit: () => verified.verified(),
        ...(tags === undefined ? {} : { tags }),
        ...(verified.checksum === undefined ? {} : { checksum: verified.checksum }),
      });
      reply.headers(checksumResponseHeaders(verified.checksum?.()));
      return reply.header('etag', result.etag).send();
    }
    case 'GetObject':
    case 'HeadObject': {
      checkVersionId(resolved.query, key);
      const range = parseRangeHeader(headerValue(headers, 'range'));
      const readRequest = {
        bucket,
        key,
        conditions: conditionalHeaders(headers),
        ...(range ? { range } : {}),
      };
      const rawPart = resolved.query.partNumber;
      const part =
        rawPart === undefined
          ? undefined
          : {
              bucket,
              key,
              partNumber: parsePartNumber(rawPart),
              conditions: readRequest.conditions,
              hasRange: headerValue(headers, 'range') !== undefined,
            };
      const result =
        resolved.operation === 'GetObject'
          ? part === undefined
            ? await getObject(ctx, readRequest)
            : await getObjectPart(ctx, part)
          : part === undefined
            ? await headObject(ctx, readRequest)
            : await headObjectPart(ctx, part);
      const { info } = result;
      reply.headers(objectResponseHeaders(info));
      const parts = part === undefined ? undefined : partsCount(info);
      if (parts !== undefined) reply.header('x-amz-mp-parts-count', String(parts));
      if (info.tags !== undefined && info.tags.length > 0)
        reply.header('x-amz-tagging-count', String(info.tags.length));
      reply.headers(
        checksumHeadersForRead(headers, info.checksum, result.range === undefined && part === undefined),
      );
      for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
        const value = resolved.query[param];
        if (value !== undefined) reply.header(header, value);
      }
      const length = result.range === undefined ? info.size : result.range.end - result.range.start + 1;
      reply.header('content-length', String(length));
      if (result.range !== undefined) {
        reply.code(206).header('content-range', contentRangeHeader(result.range, info.size));
      }
      if (!('body' in result)) return reply.send();
      if ('bytes' in result && result.bytes !== undefined) return reply.send(result.bytes);
      return reply.send(Readable.from(result.body as AsyncIterable<Buffer>, { objectMode: false }));
    }
    case 'DeleteObject':
      checkVersionId(resolved.query, key);
      await deleteObject(ctx, bucket, key);
      return reply.code(204).send();
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'UploadPartCopy':
    case 'CompleteMultipartUpload':
    case 'AbortMultipartUpload':
    case 'ListParts':
    case 'ListMultipartUploads':
    case 'CopyObject':
      return dispatchMultipart(resolved.operation, ctx, resolved, request, reply, auth, authRequest);
    case 'DeleteObjects':
      return handleDeleteObjects(ctx, bucket, request, reply, auth, authRequest);
    case 'ListObjectVersions':
    case 'GetBucketVersioning':
    case 'PutBucketVersioning':
      return dispatchVersions(resolved.operation, ctx, resolved, request, reply, auth, authRequest);
    case 'GetObjectTagging':
    case 'PutObjectTagging':
    case 'DeleteObjectTagging':
      return dispatchTagging(resolved.operation, ctx, resolved, request, reply, auth, authRequest);
    case 'GetBucketCors':
    case 'PutBucketCors':
    case 'DeleteBucketCors':
      return dispatchCors(resolved.operation, ctx, resolved, request, reply, auth, authRequest);
  }
}
