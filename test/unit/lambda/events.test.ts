import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LambdaFunctionUrlSchema } from '@aws-lambda-powertools/parser/schemas/lambda';
import { AlbSchema } from '@aws-lambda-powertools/parser/schemas/alb';
import {
  DOOR_HEADER,
  albEventForApp,
  albRawQuery,
  eventBodySize,
  functionUrlEventForApp,
} from '../../../gateway/lambda/events.ts';
import { functionUrlEvent, requestTime } from '../../../gateway/lambda/emulator/function-url-event.ts';
import { albEvent } from '../../../gateway/lambda/emulator/alb-event.ts';
import { checkRequestSize, declaredBodySize, MAX_REQUEST_BODY } from '../../../gateway/lambda/limits.ts';

const parts = {
  method: 'PUT',
  url: '/b/k%20ey?x-id=PutObject&a=1%2C2&a=3&flag',
  rawHeaders: [
    'Host',
    'h.example',
    'Cookie',
    'a=1; b=2',
    'X-Multi',
    'one',
    'X-Multi',
    'two',
    DOOR_HEADER,
    'alb',
  ],
  body: Buffer.from([0, 255, 1, 254]),
  sourceIp: '198.51.100.1',
};

describe('function URL events', () => {
  it('look like AWS builds them (payload v2) and pass the powertools schema', () => {
    const event = functionUrlEvent({
      ...parts,
      domainName: 'id.lambda-url.us-east-1.on.aws',
      now: new Date(0),
    });
    LambdaFunctionUrlSchema.parse(event);
    assert.equal(event.rawPath, '/b/k%20ey');
    assert.equal(event.rawQueryString, 'x-id=PutObject&a=1%2C2&a=3&flag');
    assert.deepEqual(event.queryStringParameters, { 'x-id': 'PutObject', a: '1,2,3', flag: '' });
    assert.deepEqual(event.cookies, ['a=1', 'b=2']);
    assert.equal(event.headers['x-multi'], 'one,two');
    assert.equal(event.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(event.body ?? '', 'base64'), parts.body);
    assert.equal(event.requestContext.time, '01/Jan/1970:00:00:00 +0000');
    assert.equal(requestTime(new Date(Date.UTC(2026, 10, 26, 7, 5, 9))), '26/Nov/2026:07:05:09 +0000');
  });

  it('are rewritten with the raw query in the path, no parsed parameters, and our door marker only', () => {
    const event = functionUrlEvent({ ...parts, domainName: 'id.lambda-url.us-east-1.on.aws' });
    const rewritten = functionUrlEventForApp(event);
    assert.equal(rewritten.rawPath, '/b/k%20ey?x-id=PutObject&a=1%2C2&a=3&flag');
    assert.equal(rewritten.queryStringParameters, undefined);
    // The client's forged marker is replaced; no Content-Length was sent, which is remembered.
    assert.equal(rewritten.headers[DOOR_HEADER], 'function-url;no-length');
    const withLength = functionUrlEventForApp({
      ...event,
      headers: { ...event.headers, 'content-length': '4' },
    });
    assert.equal(withLength.headers[DOOR_HEADER], 'function-url');
    const noHost = functionUrlEventForApp({ ...event, headers: {} });
    assert.equal(noHost.headers['host'], 'id.lambda-url.us-east-1.on.aws');
  });
});

describe('ALB events', () => {
  it('keep the query encoded as sent, in single- and multi-value form', () => {
    const single = albEvent(parts, false);
    AlbSchema.parse(single);
    assert.equal(albRawQuery(single), 'x-id=PutObject&a=3&flag=');
    const multi = albEvent(parts, true);
    assert.equal(albRawQuery(multi), 'x-id=PutObject&a=1%2C2&a=3&flag=');
    const rewritten = albEventForApp(multi);
    assert.equal(rewritten.path, '/b/k%20ey?x-id=PutObject&a=1%2C2&a=3&flag=');
    assert.equal(rewritten.multiValueQueryStringParameters, undefined);
    assert.deepEqual(rewritten.multiValueHeaders?.[DOOR_HEADER], ['alb']);
    assert.deepEqual(rewritten.multiValueHeaders?.['x-multi'], ['one', 'two']);
    assert.equal(albEventForApp(single).headers?.[DOOR_HEADER], 'alb');
  });

  it('measure decoded body sizes', () => {
    assert.equal(eventBodySize(Buffer.alloc(10).toString('base64'), true), 10);
    assert.equal(eventBodySize('héllo', false), 6);
    assert.equal(eventBodySize(undefined, false), 0);
  });
});

describe('limits', () => {
  it('take the larger of Content-Length and x-amz-decoded-content-length', () => {
    assert.equal(declaredBodySize({ 'content-length': '10', 'x-amz-decoded-content-length': '7' }), 10);
    assert.equal(declaredBodySize({ 'x-amz-decoded-content-length': '7' }), 7);
    assert.equal(declaredBodySize({ 'content-length': 'abc' }), undefined);
  });

  it('throw EntityTooLarge above the door limit only', () => {
    checkRequestSize('alb', { 'content-length': String(MAX_REQUEST_BODY.alb) });
    assert.throws(
      () => checkRequestSize('alb', { 'content-length': String(MAX_REQUEST_BODY.alb + 1) }),
      (e: { code?: string; status?: number; message?: string }) =>
        e.code === 'EntityTooLarge' && e.status === 400 && /long-running gateway/.test(e.message ?? ''),
    );
    checkRequestSize('function-url', { 'content-length': String(MAX_REQUEST_BODY.alb + 1) });
    assert.throws(() => checkRequestSize('function-url', {}, MAX_REQUEST_BODY['function-url'] + 1));
  });
});
