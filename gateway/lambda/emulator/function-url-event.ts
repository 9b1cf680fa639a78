// Builds a Lambda function URL event (payload format 2.0) from an HTTP request, as AWS does:
// lower-case header names, repeated headers joined by commas, cookies split out, query parameters
// decoded (repeated ones joined by commas), binary bodies base64-encoded.
// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
import { randomUUID } from 'node:crypto';
import type { LambdaFunctionURLEvent } from 'aws-lambda';

export interface HttpRequestParts {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  /** Raw header list as node:http gives it (name, value, name, value, ...). */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  /** The function URL's own domain (used when the request carries no Host). */
  domainName: string;
  now?: Date;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

function isTextual(contentType: string | undefined, body: Buffer): boolean {
  if (contentType === undefined || !TEXT_TYPES.test(contentType.trim())) return false;
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "12/Mar/2020:19:03:58 +0000" */
export function requestTime(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function decodeQueryPart(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export function functionUrlEvent(request: HttpRequestParts): LambdaFunctionURLEvent {
  const now = request.now ?? new Date();
  const q = request.url.indexOf('?');
  const rawPath = q < 0 ? request.url : request.url.slice(0, q);
  const rawQueryString = q < 0 ? '' : request.url.slice(q + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] as string).toLowerCase();
    const value = request.rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  if (headers['host'] === undefined) headers['host'] = request.domainName;

  const query: Record<string, string> = {};
  if (rawQueryString !== '') {
    for (const pair of rawQueryString.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1));
      query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
    }
  }

  const hasBody = request.body.length > 0;
  const base64 = hasBody && !isTextual(headers['content-type'], request.body);
  const domainPrefix = request.domainName.split('.')[0] ?? request.domainName;
  const event: LambdaFunctionURLEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: domainPrefix,
      domainName: request.domainName,
      domainPrefix,
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: base64,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString !== '') event.queryStringParameters = query;
  if (hasBody) event.body = base64 ? request.body.toString('base64') : request.body.toString('utf8');
  return event;
}
