// Request and response size limits of the two Lambda front doors, made explicit so that a client
// gets an S3 error that says what happened instead of a bare 413/502 from AWS.
//
// Function URL: the invocation payload (the whole JSON event) may be at most 6 MB; binary bodies
// arrive base64-encoded, i.e. 4/3 larger, so 4 MiB of object data (5.59 MB encoded) leaves room for
// headers. Responses stream and are not limited here.
// ALB target: request and response JSON are each at most 1 MB; bodies travel base64-encoded, so
// 720 KiB of data (983 040 bytes encoded) leaves room for headers.
import type { HeaderBag } from '../s3/headers.ts';
import { headerValue } from '../s3/headers.ts';
import { S3Error } from '../errors.ts';

export type LambdaFrontDoor = 'function-url' | 'alb';

export const MAX_REQUEST_BODY: Record<LambdaFrontDoor, number> = {
  'function-url': 4 * 1024 * 1024,
  alb: 720 * 1024,
};

/** Responses are buffered only through the ALB. */
export const MAX_ALB_RESPONSE_BODY = 720 * 1024;

const LARGE_OBJECT_ADVICE =
  'Upload large objects through the long-running gateway (s3d on a host behind the load balancer), which has no such limit.';

/** EntityTooLarge naming the front door, its limit and where large objects go. */
export function requestTooLarge(door: LambdaFrontDoor, size: number): S3Error {
  const limit = MAX_REQUEST_BODY[door];
  const via = door === 'alb' ? 'an Application Load Balancer' : 'a Lambda function URL';
  return new S3Error(
    'EntityTooLarge',
    `The request body of ${size} bytes exceeds the ${limit} bytes a Lambda gateway behind ${via} accepts. ${LARGE_OBJECT_ADVICE}`,
    400,
    { details: { MaxSizeAllowed: String(limit), ProposedSize: String(size) } },
  );
}

/** Error for a buffered (ALB) response that Lambda could not return. */
export function responseTooLarge(size: number): S3Error {
  return new S3Error(
    'EntityTooLarge',
    `The response body of ${size} bytes exceeds the ${MAX_ALB_RESPONSE_BODY} bytes a Lambda behind an Application Load Balancer can return. Use Range requests of at most that size, the function URL (which streams), or the long-running gateway.`,
    400,
    { details: { MaxSizeAllowed: String(MAX_ALB_RESPONSE_BODY), ProposedSize: String(size) } },
  );
}

function parseLength(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

/**
 * The largest body size the request declares: Content-Length (the bytes on the wire) and, for
 * aws-chunked uploads, x-amz-decoded-content-length. Undefined when it declares neither.
 */
export function declaredBodySize(headers: HeaderBag): number | undefined {
  const wire = parseLength(headerValue(headers, 'content-length'));
  const decoded = parseLength(headerValue(headers, 'x-amz-decoded-content-length'));
  if (wire === undefined) return decoded;
  return decoded === undefined ? wire : Math.max(wire, decoded);
}

/** Throws EntityTooLarge when the request declares, or carries, more than the front door accepts. */
export function checkRequestSize(door: LambdaFrontDoor, headers: HeaderBag, actualBytes?: number): void {
  const size = Math.max(declaredBodySize(headers) ?? 0, actualBytes ?? 0);
  if (size > MAX_REQUEST_BODY[door]) throw requestTooLarge(door, size);
}
