// Builds an Application Load Balancer → Lambda event from an HTTP request, as the ALB does:
// query names and values passed on still encoded, bodies base64-encoded, and either single-value
// `headers`/`queryStringParameters` (last value wins) or, with multi-value headers enabled on the
// target group, `multiValueHeaders`/`multiValueQueryStringParameters`.
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
import type { ALBEvent } from 'aws-lambda';
import type { HttpRequestParts } from './function-url-event.ts';

export const TARGET_GROUP_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/predastore-gateway/0123456789abcdef';

export function albEvent(
  request: Omit<HttpRequestParts, 'domainName' | 'now'>,
  multiValue: boolean,
): ALBEvent {
  const q = request.url.indexOf('?');
  const path = q < 0 ? request.url : request.url.slice(0, q);
  const rawQuery = q < 0 ? '' : request.url.slice(q + 1);
  const headerLists: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] as string).toLowerCase();
    (headerLists[name] ??= []).push(request.rawHeaders[i + 1] as string);
  }
  if (headerLists['x-forwarded-for'] === undefined) headerLists['x-forwarded-for'] = [request.sourceIp];
  const queryLists: Record<string, string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    (queryLists[eq < 0 ? pair : pair.slice(0, eq)] ??= []).push(eq < 0 ? '' : pair.slice(eq + 1));
  }
  const event: ALBEvent = {
    requestContext: { elb: { targetGroupArn: TARGET_GROUP_ARN } },
    httpMethod: request.method,
    path,
    isBase64Encoded: request.body.length > 0,
    body: request.body.toString('base64'),
  };
  if (multiValue) {
    event.multiValueHeaders = headerLists;
    event.multiValueQueryStringParameters = queryLists;
  } else {
    event.headers = Object.fromEntries(Object.entries(headerLists).map(([k, v]) => [k, v.at(-1) as string]));
    event.queryStringParameters = Object.fromEntries(
      Object.entries(queryLists).map(([k, v]) => [k, v.at(-1) as string]),
    );
  }
  return event;
}
