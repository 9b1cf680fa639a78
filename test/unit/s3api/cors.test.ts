import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  corsXml,
  matchPreflight,
  matchRequest,
  parseCorsXml,
  parseHeaderList,
  preflightHeaders,
  requestCorsHeaders,
  wildcardMatch,
} from '../../../gateway/s3/cors.ts';
import type { CorsRule } from '../../../gateway/backend/types.ts';
import { s3ErrorCode as codeOf } from '../../support/s3-errors.ts';

const rule = (body: string): string => `<CORSConfiguration><CORSRule>${body}</CORSRule></CORSConfiguration>`;

describe('bucket CORS (pure)', () => {
  it('parses and validates CORSConfiguration documents', () => {
    const rules = parseCorsXml(
      `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
         <CORSRule><ID>up</ID><AllowedOrigin>https://a.example</AllowedOrigin><AllowedOrigin>http://*.b.example</AllowedOrigin>
           <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader>
           <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
         <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
       </CORSConfiguration>`,
    );
    assert.deepEqual(rules, [
      {
        id: 'up',
        allowedOrigins: ['https://a.example', 'http://*.b.example'],
        allowedMethods: ['PUT', 'GET'],
        allowedHeaders: ['*'],
        exposeHeaders: ['ETag'],
        maxAgeSeconds: 3000,
      },
      { allowedOrigins: ['*'], allowedMethods: ['HEAD'], allowedHeaders: [], exposeHeaders: [] },
    ]);
    assert.deepEqual(parseCorsXml(corsXml(rules)), rules);
    const ok = '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>';
    assert.equal(
      codeOf(() =>
        parseCorsXml(rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>')),
      ),
      'InvalidRequest',
    );
    assert.equal(
      codeOf(() => parseCorsXml(rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>'))),
      'InvalidRequest',
    );
    assert.equal(
      codeOf(() =>
        parseCorsXml(rule('<AllowedOrigin>http://*.*.x</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')),
      ),
      'InvalidRequest',
    );
    assert.equal(
      codeOf(() => parseCorsXml(rule(`${ok}<AllowedHeader>x-*-*</AllowedHeader>`))),
      'InvalidRequest',
    );
    assert.equal(
      codeOf(() => parseCorsXml(rule('<AllowedMethod>GET</AllowedMethod>'))),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseCorsXml(rule('<AllowedOrigin>*</AllowedOrigin>'))),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseCorsXml(rule(`${ok}<MaxAgeSeconds>-1</MaxAgeSeconds>`))),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseCorsXml('<CORSConfiguration></CORSConfiguration>')),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseCorsXml('<CORSConfiguration><CORSRule>')),
      'MalformedXML',
    );
    const hundred = `<CORSConfiguration>${`<CORSRule>${ok}</CORSRule>`.repeat(100)}</CORSConfiguration>`;
    assert.equal(parseCorsXml(hundred).length, 100);
    const over = `<CORSConfiguration>${`<CORSRule>${ok}</CORSRule>`.repeat(101)}</CORSConfiguration>`;
    assert.equal(
      codeOf(() => parseCorsXml(over)),
      'InvalidRequest',
    );
  });

  it('matches wildcards: one * standing for any run of characters', () => {
    assert.ok(wildcardMatch('*', 'https://anything'));
    assert.ok(wildcardMatch('http://*.example.com', 'http://a.b.example.com'));
    assert.ok(!wildcardMatch('http://*.example.com', 'http://example.com'));
    assert.ok(!wildcardMatch('http://*.example.com', 'https://a.example.com'));
    assert.ok(wildcardMatch('x-amz-*', 'x-amz-meta-a'));
    assert.ok(wildcardMatch('X-Amz-*', 'x-amz-date', true));
    assert.ok(!wildcardMatch('X-Amz-*', 'x-amz-date'));
    assert.ok(wildcardMatch('https://a.example', 'https://a.example'));
    assert.ok(!wildcardMatch('ab*ba', 'aba'));
    assert.deepEqual(parseHeaderList(' Content-Type, ,X-Amz-Date '), ['content-type', 'x-amz-date']);
  });

  it('picks the first rule matching origin, method and every requested header', () => {
    const rules: CorsRule[] = [
      {
        allowedOrigins: ['https://a.example'],
        allowedMethods: ['PUT'],
        allowedHeaders: ['content-type'],
        exposeHeaders: [],
      },
      {
        id: 'second',
        allowedOrigins: ['https://*'],
        allowedMethods: ['PUT', 'GET'],
        allowedHeaders: ['*'],
        exposeHeaders: ['ETag'],
        maxAgeSeconds: 5,
      },
      { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] },
    ];
    assert.equal(matchPreflight(rules, 'https://a.example', 'PUT', ['content-type']), rules[0]);
    assert.equal(matchPreflight(rules, 'https://a.example', 'PUT', ['content-type', 'x-amz-date']), rules[1]);
    assert.equal(matchPreflight(rules, 'http://plain.example', 'GET', []), rules[2]);
    assert.equal(matchPreflight(rules, 'http://plain.example', 'GET', ['range']), undefined);
    assert.equal(matchPreflight(rules, 'http://plain.example', 'DELETE', []), undefined);
    assert.equal(matchRequest(rules, 'https://b.example', 'GET'), rules[1]);
    assert.equal(matchRequest(rules, 'http://b.example', 'PUT'), undefined);

    const specific = preflightHeaders(rules[1]!, 'https://b.example', ['x-amz-date']);
    assert.deepEqual(specific, {
      'access-control-allow-origin': 'https://b.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'PUT, GET',
      'access-control-allow-headers': 'x-amz-date',
      'access-control-expose-headers': 'ETag',
      'access-control-max-age': '5',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    });
    const any = requestCorsHeaders(rules[2]!, 'http://plain.example');
    assert.equal(any['access-control-allow-origin'], '*');
    assert.equal(any['access-control-allow-credentials'], undefined);
    assert.equal(any['access-control-max-age'], undefined);
  });
});
