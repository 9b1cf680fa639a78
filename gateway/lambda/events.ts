// Pure rewrites of Lambda events before @fastify/aws-lambda turns them into a request.
// SigV4 signs the query string exactly as sent; the library would rebuild it from the decoded
// parameters (and split values at commas), so the raw query goes into the URL instead and the
// parsed parameters are dropped. The library also parses the URL with WHATWG rules, which removes
// `.` and `..` segments (S3 keys may contain them, and SigV4 signs them), so the request line as
// the client sent it travels in a header and is put back before routing. The door marker tells
// the app which size limits apply.
import type { ALBEvent, LambdaFunctionURLEvent } from 'aws-lambda';
import type { LambdaFrontDoor } from './limits.ts';

/** Internal header naming the front door; any copy a client sends is removed first. */
export const DOOR_HEADER = 'x-predastore-lambda-door';
/** Door header flag: the request carried no Content-Length. */
export const NO_LENGTH = 'no-length';
/** Internal header carrying the client's path and query, percent-encoded once more; clients' copies are removed. */
export const URL_HEADER = 'x-predastore-lambda-url';

const INTERNAL_HEADERS = new Set([DOOR_HEADER, URL_HEADER]);

function withoutDoorHeader<T extends Record<string, unknown> | undefined>(headers: T): T {
  if (headers === undefined) return headers;
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers))
    if (!INTERNAL_HEADERS.has(name.toLowerCase())) copy[name] = value;
  return copy as T;
}

/** The request URL as the client sent it, from the internal header (undefined when absent or damaged). */
export function originalUrl(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  try {
    const url = decodeURIComponent(headerValue);
    return url.startsWith('/') ? url : undefined;
  } catch {
    return undefined;
  }
}

function withQuery(path: string, query: string): string {
  return query === '' ? path : `${path}?${query}`;
}

export function functionUrlEventForApp(event: LambdaFunctionURLEvent): LambdaFunctionURLEvent {
  const headers: Record<string, string | undefined> = withoutDoorHeader({ ...event.headers });
  // Function URLs keep the client's Host; if a proxy dropped it, the URL's own domain is what was called.
  if (headers['host'] === undefined) headers['host'] = event.requestContext.domainName;
  // The adapter library fills in Content-Length from the body; remember whether the client sent one
  // (S3 answers 411 MissingContentLength to a PUT without it, and so must we).
  const door: LambdaFrontDoor = 'function-url';
  headers[DOOR_HEADER] = headers['content-length'] === undefined ? `${door};${NO_LENGTH}` : door;
  const url = withQuery(event.rawPath, event.rawQueryString ?? '');
  headers[URL_HEADER] = encodeURIComponent(url);
  const rewritten = { ...event, rawPath: url, headers } as LambdaFunctionURLEvent;
  delete (rewritten as { queryStringParameters?: unknown }).queryStringParameters;
  return rewritten;
}

/** The query string of an ALB event as the client sent it (ALB passes names and values still encoded). */
export function albRawQuery(event: ALBEvent): string {
  const pairs: string[] = [];
  if (event.multiValueQueryStringParameters !== undefined) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters))
      for (const value of values ?? []) pairs.push(`${name}=${value}`);
  } else if (event.queryStringParameters !== undefined) {
    for (const [name, value] of Object.entries(event.queryStringParameters))
      pairs.push(`${name}=${value ?? ''}`);
  }
  return pairs.join('&');
}

export function albEventForApp(event: ALBEvent): ALBEvent {
  const url = withQuery(event.path, albRawQuery(event));
  const rewritten: ALBEvent = { ...event, path: url };
  delete rewritten.queryStringParameters;
  delete rewritten.multiValueQueryStringParameters;
  if (event.multiValueHeaders !== undefined) {
    const multi = withoutDoorHeader({ ...event.multiValueHeaders });
    multi[DOOR_HEADER] = ['alb'];
    multi[URL_HEADER] = [encodeURIComponent(url)];
    rewritten.multiValueHeaders = multi;
  } else {
    const headers = withoutDoorHeader({ ...(event.headers ?? {}) });
    headers[DOOR_HEADER] = 'alb';
    headers[URL_HEADER] = encodeURIComponent(url);
    rewritten.headers = headers;
  }
  return rewritten;
}

/** Decoded byte length of an event body. */
export function eventBodySize(body: string | null | undefined, isBase64Encoded: boolean): number {
  if (body === null || body === undefined) return 0;
  return isBase64Encoded ? Buffer.byteLength(body, 'base64') : Buffer.byteLength(body, 'utf8');
}
