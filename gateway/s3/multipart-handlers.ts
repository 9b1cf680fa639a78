// HTTP side of multipart upload and copy: request → typed operation (gateway/ops/multipart.ts,
// gateway/ops/copy.ts) → headers + XML. Called from the app's dispatch for these operations only.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import { AccessDenied, MissingContentLength } from '../errors.ts';
import type { ObjectTag } from '../backend/types.ts';
import { parseTaggingHeader } from './tagging.ts';
import type { OperationContext } from '../ops/context.ts';
import { copyObject } from '../ops/copy.ts';
import type { CopySourceRequest } from '../ops/copy.ts';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from '../ops/multipart.ts';
import { headerValue, metadataFromHeaders, parseContentMd5 } from './headers.ts';
import type { HeaderBag } from './headers.ts';
import { parseLength, readSmallBody } from './small-body.ts';
import {
  copySourceConditions,
  parseCopySource,
  parseListPartsParams,
  parseListUploadsParams,
  parseMetadataDirective,
  parsePartNumber,
} from './multipart-params.ts';
import type { ResolvedRequest } from './route.ts';
import {
  completeMultipartUploadXml,
  copyResultXml,
  initiateMultipartUploadXml,
  listMultipartUploadsXml,
  listPartsXml,
} from './multipart-xml.ts';

const XML = 'application/xml';
/** CompleteMultipartUpload lists up to 10 000 parts: about 1 MB of XML at most. */
const MAX_COMPLETE_BODY = 2 * 1024 * 1024;

export type MultipartOperation =
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'CopyObject';

function copySourceOf(
  headers: HeaderBag,
  ctx: OperationContext,
  auth: GatewayAuth,
  withRange: boolean,
): CopySourceRequest {
  const range = withRange ? headerValue(headers, 'x-amz-copy-source-range') : undefined;
  return {
    source: parseCopySource(headerValue(headers, 'x-amz-copy-source') ?? ''),
    conditions: copySourceConditions(headers),
    ...(range === undefined ? {} : { range }),
    mayRead: (bucket) => auth.isAllowed(ctx.identity, 's3:GetObject', bucket),
  };
}

/** x-amz-tagging of a write; storing tags needs s3:PutObjectTagging besides the write itself. */
function taggingOf(
  headers: HeaderBag,
  ctx: OperationContext,
  auth: GatewayAuth,
  bucket: string,
): ObjectTag[] | undefined {
  const header = headerValue(headers, 'x-amz-tagging');
  if (header === undefined) return undefined;
  const tags = parseTaggingHeader(header);
  if (tags.length > 0 && !auth.isAllowed(ctx.identity, 's3:PutObjectTagging', bucket)) throw AccessDenied();
  return tags;
}

function copyTagging(
  headers: HeaderBag,
  ctx: OperationContext,
  auth: GatewayAuth,
  bucket: string,
): { directive?: string; header?: string } {
  const directive = headerValue(headers, 'x-amz-tagging-directive');
  const header = headerValue(headers, 'x-amz-tagging');
  if (header !== undefined) taggingOf(headers, ctx, auth, bucket);
  return { ...(directive === undefined ? {} : { directive }), ...(header === undefined ? {} : { header }) };
}

export async function dispatchMultipart(
  operation: MultipartOperation,
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
  const uploadId = resolved.query.uploadId ?? '';
  switch (operation) {
    case 'CreateMultipartUpload': {
      const tags = taggingOf(headers, ctx, auth, bucket);
      const upload = await createMultipartUpload(ctx, {
        bucket,
        key,
        metadata: metadataFromHeaders(headers),
        ...(tags === undefined ? {} : { tags }),
      });
      return reply.type(XML).send(initiateMultipartUploadXml(upload));
    }
    case 'UploadPart': {
      const partNumber = parsePartNumber(resolved.query.partNumber);
      const contentMd5 = parseContentMd5(headerValue(headers, 'content-md5'));
      const verified = auth.decodeBody(authRequest, ctx.identity, request.raw);
      const size = verified.decodedLength ?? parseLength(headerValue(headers, 'content-length'));
      if (size === undefined) throw MissingContentLength();
      const part = await uploadPart(ctx, {
        bucket,
        key,
        uploadId,
        partNumber,
        body: verified.body,
        size,
        ...(contentMd5 === undefined ? {} : { contentMd5 }),
        beforeCommit: () => verified.verified(),
      });
      return reply.header('etag', part.etag).send();
    }
    case 'UploadPartCopy': {
      const partNumber = parsePartNumber(resolved.query.partNumber);
      const part = await uploadPartCopy(ctx, {
        bucket,
        key,
        uploadId,
        partNumber,
        source: copySourceOf(headers, ctx, auth, true),
      });
      return reply.type(XML).send(copyResultXml('CopyPartResult', part));
    }
    case 'CompleteMultipartUpload': {
      const verified = auth.decodeBody(authRequest, ctx.identity, request.raw);
      const xml = await readSmallBody(verified.body, MAX_COMPLETE_BODY);
      await verified.verified();
      const result = await completeMultipartUpload(ctx, { bucket, key, uploadId, xml });
      const host = headerValue(headers, 'host') ?? 'localhost';
      const scheme = request.protocol === 'https' ? 'https' : 'http';
      const location = `${scheme}://${host}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
      return reply.type(XML).send(completeMultipartUploadXml({ location, bucket, key, etag: result.etag }));
    }
    case 'AbortMultipartUpload':
      await abortMultipartUpload(ctx, { bucket, key, uploadId });
      return reply.code(204).send();
    case 'ListParts': {
      const doc = await listParts(ctx, {
        bucket,
        key,
        uploadId,
        params: parseListPartsParams(resolved.query),
      });
      return reply.type(XML).send(listPartsXml(doc));
    }
    case 'ListMultipartUploads': {
      const doc = await listMultipartUploads(ctx, { bucket, params: parseListUploadsParams(resolved.query) });
      return reply.type(XML).send(listMultipartUploadsXml(doc));
    }
    case 'CopyObject': {
      const result = await copyObject(ctx, {
        bucket,
        key,
        source: copySourceOf(headers, ctx, auth, false),
        directive: parseMetadataDirective(headerValue(headers, 'x-amz-metadata-directive')),
        metadata: metadataFromHeaders(headers),
        tagging: copyTagging(headers, ctx, auth, bucket),
      });
      return reply.type(XML).send(copyResultXml('CopyObjectResult', result));
    }
  }
}
