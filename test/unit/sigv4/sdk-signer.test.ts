// Property tests: what the AWS SDK's own signer produces verifies; any single change is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  S3AuthError,
  verifyRequest,
  type RequestLike,
  type VerifyOptions,
} from '../../../shared/sigv4/index.ts';
import { TEST_CREDENTIALS, encodeKeyPath, encodeQuery, sdkSigner, type SdkRequest } from './smithy-signer.ts';

const lookup = (id: string): string | undefined =>
  id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined;
const CHARS = [..."aZ09-_.~ +%/!*()'=&?:@$,;#[]é日😀"];
const keyArb = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 24 }).map((a) => a.join(''));
const tokenArb = fc
  .array(fc.constantFrom(...CHARS.filter((c) => c !== '/')), { maxLength: 12 })
  .map((a) => a.join(''));
const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const headerValueArb = fc
  .tuple(
    fc.constantFrom('', ' ', '  '),
    fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9 =/;,.]{0,20}[A-Za-z0-9])?$/),
  )
  .map(([pad, v]) => pad + v + pad);
const dateArb = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2035-01-01T00:00:00Z'),
  noInvalidDate: true,
});

interface Generated {
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  meta: Record<string, string>;
  body: Uint8Array;
  date: Date;
  virtualHost: boolean;
}

const requestArb: fc.Arbitrary<Generated> = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST'),
  bucket: fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,12}$/),
  key: keyArb,
  query: fc.dictionary(
    tokenArb.filter((s) => s !== '' && !s.startsWith('X-Amz')),
    tokenArb,
    { maxKeys: 4 },
  ),
  meta: fc.dictionary(nameArb, headerValueArb, { maxKeys: 3 }),
  body: fc.uint8Array({ maxLength: 64 }),
  date: dateArb,
  virtualHost: fc.boolean(),
});

function sdkRequest(g: Generated): SdkRequest {
  const host = g.virtualHost ? `${g.bucket}.s3.example.test:9000` : 's3.example.test:9000';
  const path = g.virtualHost ? `/${encodeKeyPath(g.key)}` : `/${g.bucket}/${encodeKeyPath(g.key)}`;
  const headers: Record<string, string> = {
    host,
    'x-amz-content-sha256': createHash('sha256').update(g.body).digest('hex'),
  };
  for (const [name, value] of Object.entries(g.meta)) headers[`x-amz-meta-${name}`] = value;
  return { method: g.method, protocol: 'https:', hostname: host, path, query: { ...g.query }, headers };
}

function toRequestLike(signed: SdkRequest): RequestLike {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return { method: signed.method, rawPath: signed.path, query: encodeQuery(signed.query), headers };
}

function differentChar(c: string): string {
  return c === 'q' ? 'r' : 'q';
}

type Tamper = (g: Generated, req: RequestLike) => RequestLike;
const tampers: Record<string, Tamper> = {
  method: (_g, r) => ({ ...r, method: r.method === 'GET' ? 'HEAD' : 'GET' }),
  path: (g, r) => {
    const chars = [...g.key];
    chars[0] = differentChar(chars[0]!);
    const prefix = g.virtualHost ? '/' : `/${g.bucket}/`;
    return { ...r, rawPath: prefix + encodeKeyPath(chars.join('')) };
  },
  queryAdded: (g, r) => ({ ...r, query: encodeQuery({ ...g.query, extra: '1' }) }),
  host: (_g, r) => ({ ...r, headers: { ...r.headers, host: 'evil.example.test:9000' } }),
  payload: (_g, r) => {
    const hash = String(r.headers['x-amz-content-sha256']);
    return {
      ...r,
      headers: { ...r.headers, 'x-amz-content-sha256': (hash[0] === 'f' ? '0' : 'f') + hash.slice(1) },
    };
  },
  date: (_g, r) => {
    const d = String(r.headers['x-amz-date']);
    const last = d[d.length - 2] === '0' ? '1' : '0';
    return { ...r, headers: { ...r.headers, 'x-amz-date': d.slice(0, -2) + last + 'Z' } };
  },
};

test('requests signed by @smithy/signature-v4 verify (path- and virtual-host style, any key)', async () => {
  const signer = sdkSigner();
  await fc.assert(
    fc.asyncProperty(requestArb, async (g) => {
      const signed = (await signer.sign(sdkRequest(g), { signingDate: g.date })) as SdkRequest;
      const verified = verifyRequest(toRequestLike(signed), lookup, { now: g.date });
      assert.equal(verified.accessKeyId, TEST_CREDENTIALS.accessKeyId);
      assert.equal(verified.payloadMode, 'sha256');
    }),
    { numRuns: 150 },
  );
});

test('any single change to method, path, query, host, payload hash or date is refused', async () => {
  const signer = sdkSigner();
  await fc.assert(
    fc.asyncProperty(requestArb, fc.constantFrom(...Object.keys(tampers)), async (g, which) => {
      const signed = (await signer.sign(sdkRequest(g), { signingDate: g.date })) as SdkRequest;
      const tampered = tampers[which]!(g, toRequestLike(signed));
      assert.throws(
        () => verifyRequest(tampered, lookup, { now: g.date }),
        (e: unknown) => e instanceof S3AuthError && e.code === 'SignatureDoesNotMatch',
      );
    }),
    { numRuns: 200 },
  );
});

test('a changed signed header value or an added unsigned x-amz header is refused', async () => {
  const signer = sdkSigner();
  const g: Generated = {
    method: 'PUT',
    bucket: 'bucket',
    key: 'k',
    query: {},
    meta: { color: 'blue' },
    body: new Uint8Array([1, 2, 3]),
    date: new Date('2026-11-26T06:00:00Z'),
    virtualHost: false,
  };
  const req = toRequestLike((await signer.sign(sdkRequest(g), { signingDate: g.date })) as SdkRequest);
  const now = { now: g.date };
  assert.doesNotThrow(() => verifyRequest(req, lookup, now));
  // whitespace normalisation is not a change
  assert.doesNotThrow(() =>
    verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-meta-color': '  blue ' } }, lookup, now),
  );
  assert.throws(
    () => verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-meta-color': 'bluf' } }, lookup, now),
    {
      code: 'SignatureDoesNotMatch',
    },
  );
  assert.throws(
    () => verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-acl': 'public-read' } }, lookup, now),
    {
      code: 'AccessDenied',
    },
  );
  // unsigned ordinary headers (added by proxies) are fine
  assert.doesNotThrow(() =>
    verifyRequest(
      { ...req, headers: { ...req.headers, 'x-forwarded-for': '10.0.0.1', 'x-amzn-trace-id': 'Root=1' } },
      lookup,
      now,
    ),
  );
});

test('clock skew: accepted up to 15 minutes either way, RequestTimeTooSkewed beyond', async () => {
  const signer = sdkSigner();
  await fc.assert(
    fc.asyncProperty(requestArb, fc.integer({ min: -3600, max: 3600 }), async (g, skewSeconds) => {
      const signed = (await signer.sign(sdkRequest(g), { signingDate: g.date })) as SdkRequest;
      const now = g.date.getTime() - (g.date.getTime() % 1000) + skewSeconds * 1000;
      const run = (): unknown => verifyRequest(toRequestLike(signed), lookup, { now });
      if (Math.abs(skewSeconds) <= 900) assert.doesNotThrow(run);
      else
        assert.throws(
          run,
          (e: unknown) => e instanceof S3AuthError && e.code === 'RequestTimeTooSkewed' && e.status === 403,
        );
    }),
    { numRuns: 100 },
  );
});

test('presigned URLs from the SDK signer verify until they expire (GET, PUT, HEAD, DELETE)', async () => {
  const signer = sdkSigner();
  await fc.assert(
    fc.asyncProperty(
      requestArb,
      fc.integer({ min: 1, max: 604800 }),
      fc.double({ min: 0, max: 1.5, noNaN: true }),
      async (g, expiresIn, at) => {
        const base = sdkRequest(g);
        base.method = ['GET', 'PUT', 'HEAD', 'DELETE'][g.body.length % 4]!;
        delete base.headers['x-amz-content-sha256'];
        for (const name of Object.keys(base.headers))
          if (name.startsWith('x-amz-meta-')) delete base.headers[name];
        base.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        const signed = (await signer.presign(base, { signingDate: g.date, expiresIn })) as SdkRequest;
        const req = toRequestLike(signed);
        const signedAt = g.date.getTime() - (g.date.getTime() % 1000);
        const now = signedAt + Math.floor(at * expiresIn) * 1000;
        const run = (): unknown => verifyRequest(req, lookup, { now });
        if (now <= signedAt + expiresIn * 1000) {
          const v = run() as { kind: string };
          assert.equal(v.kind, 'presigned');
        } else {
          assert.throws(
            run,
            (e: unknown) =>
              e instanceof S3AuthError && e.code === 'AccessDenied' && /expired/.test(e.message),
          );
        }
        // a tampered presigned request is refused
        const tampered = {
          ...req,
          query: req.query.replace(/X-Amz-Expires=\d+/, `X-Amz-Expires=${expiresIn === 1 ? 2 : 1}`),
        };
        assert.throws(() => verifyRequest(tampered, lookup, { now: signedAt }), {
          code: 'SignatureDoesNotMatch',
        });
      },
    ),
    { numRuns: 150 },
  );
});

test('presign limits: X-Amz-Expires above 7 days, missing parameters, wrong key', async () => {
  const signer = sdkSigner();
  const date = new Date('2026-11-26T06:00:00Z');
  const base: SdkRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname: 'h',
    path: '/b/k',
    query: {},
    // as @aws-sdk/s3-request-presigner does: UNSIGNED-PAYLOAD, hoisted into the query
    headers: { host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  };
  const req = toRequestLike(
    (await signer.presign(base, { signingDate: date, expiresIn: 604800 })) as SdkRequest,
  );
  assert.doesNotThrow(() => verifyRequest(req, lookup, { now: date }));
  const tooLong = { ...req, query: req.query.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801') };
  assert.throws(() => verifyRequest(tooLong, lookup, { now: date }), {
    code: 'AuthorizationQueryParametersError',
    status: 400,
  });
  const missing = { ...req, query: req.query.replace(/&?X-Amz-Date=[^&]*/, '') };
  assert.throws(() => verifyRequest(missing, lookup, { now: date }), {
    code: 'AuthorizationQueryParametersError',
  });
  assert.throws(() => verifyRequest(req, () => undefined, { now: date }), {
    code: 'InvalidAccessKeyId',
    status: 403,
  });
  assert.throws(() => verifyRequest(req, () => 'wrong-secret', { now: date }), {
    code: 'SignatureDoesNotMatch',
  });
  const notYet = new Date(date.getTime() - 16 * 60_000);
  assert.throws(() => verifyRequest(req, lookup, { now: notYet }), { code: 'AccessDenied' });
});

test('header auth errors: unknown key, malformed header, wrong region, anonymous, both mechanisms', async () => {
  const signer = sdkSigner('s3', 'eu-west-1');
  const date = new Date('2026-11-26T06:00:00Z');
  const base: SdkRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname: 'h',
    path: '/b/k',
    query: {},
    headers: { host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  };
  const req = toRequestLike((await signer.sign(base, { signingDate: date })) as SdkRequest);
  const opts: VerifyOptions = { now: date };
  assert.equal(verifyRequest(req, lookup, opts).payloadMode, 'unsigned');
  assert.throws(() => verifyRequest(req, lookup, { ...opts, regions: ['us-east-1'] }), {
    code: 'AuthorizationHeaderMalformed',
  });
  assert.throws(() => verifyRequest(req, () => undefined, opts), { code: 'InvalidAccessKeyId' });
  assert.throws(
    () =>
      verifyRequest(
        { ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 Credential=x' } },
        lookup,
        opts,
      ),
    {
      code: 'AuthorizationHeaderMalformed',
    },
  );
  assert.throws(
    () => verifyRequest({ ...req, headers: { ...req.headers, authorization: 'AWS AKID:sig' } }, lookup, opts),
    {
      code: 'InvalidRequest',
    },
  );
  const { authorization: _a, ...anonymousHeaders } = req.headers;
  assert.throws(() => verifyRequest({ ...req, headers: anonymousHeaders }, lookup, opts), {
    code: 'AccessDenied',
  });
  assert.throws(() => verifyRequest({ ...req, query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }, lookup, opts), {
    code: 'InvalidArgument',
  });
  const { 'x-amz-content-sha256': _h, ...noHash } = req.headers;
  assert.throws(() => verifyRequest({ ...req, headers: noHash }, lookup, opts), {
    code: 'MissingSecurityHeader',
  });
  assert.throws(
    () =>
      verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-content-sha256': 'nope' } }, lookup, opts),
    {
      code: 'InvalidArgument',
    },
  );
});

test('service s3db: double-encoded paths signed by the SDK (uriEscapePath) verify', async () => {
  const signer = sdkSigner('s3db', 'us-east-1', true);
  await fc.assert(
    fc.asyncProperty(keyArb, tokenArb, dateArb, async (key, value, date) => {
      const path = `/v1/put/objects/${encodeKeyPath(key)}`;
      const base: SdkRequest = {
        method: 'POST',
        protocol: 'https:',
        hostname: '127.0.0.1',
        path,
        query: value === '' ? {} : { prefix: value },
        headers: { host: '127.0.0.1:6660', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      };
      const req = toRequestLike((await signer.sign(base, { signingDate: date })) as SdkRequest);
      const v = verifyRequest(req, lookup, { now: date, service: 's3db' });
      assert.equal(v.service, 's3db');
      assert.throws(() => verifyRequest(req, lookup, { now: date, service: 's3' }), {
        code: 'AuthorizationHeaderMalformed',
      });
    }),
    { numRuns: 100 },
  );
});
