// Our own signer (used by the s3db client) against our verifier, for s3 and s3db, header and presigned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { presignRequest, signRequest, verifyRequest, type RequestLike } from '../../../shared/sigv4/index.ts';
import { TEST_CREDENTIALS, encodeKeyPath, encodeQuery, sdkSigner, type SdkRequest } from './smithy-signer.ts';

const lookup = (id: string): string | undefined =>
  id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined;
const CHARS = [..."aZ09-_.~ +%/!*()'=&?:@$,;é日"];
const keyArb = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 20 }).map((a) => a.join(''));
const valueArb = fc.array(fc.constantFrom(...CHARS), { maxLength: 10 }).map((a) => a.join(''));
const date = new Date('2026-11-26T06:00:00Z');

test('property: signRequest → verifyRequest, for s3 (single encoding) and s3db (double encoding)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('s3', 's3db'),
      keyArb,
      fc.dictionary(
        valueArb.filter((s) => s !== ''),
        valueArb,
        { maxKeys: 3 },
      ),
      async (service, key, query) => {
        const path = `/v1/get/objects/${encodeKeyPath(key)}`;
        const rawQuery = encodeQuery(query);
        const signed = signRequest({
          method: 'GET',
          path,
          query: rawQuery,
          headers: { host: '127.0.0.1:6660', 'x-amz-meta-k': ' a  b ' },
          credentials: TEST_CREDENTIALS,
          region: 'us-east-1',
          service,
          date,
        });
        const req: RequestLike = {
          method: 'GET',
          rawPath: path,
          query: rawQuery,
          headers: { host: '127.0.0.1:6660', 'x-amz-meta-k': ' a  b ', ...signed.headers },
        };
        assert.equal(verifyRequest(req, lookup, { now: date, service }).service, service);
        // the AWS SDK signer agrees with ours on the signature
        const sdk = (await sdkSigner(service).sign(
          {
            method: 'GET',
            protocol: 'https:',
            hostname: '127.0.0.1',
            path,
            query,
            headers: {
              host: '127.0.0.1:6660',
              'x-amz-meta-k': ' a  b ',
              'x-amz-content-sha256': signed.headers['x-amz-content-sha256']!,
            },
          },
          { signingDate: date },
        )) as SdkRequest;
        assert.equal(sdk.headers.authorization, signed.headers.authorization);
      },
    ),
    { numRuns: 150 },
  );
});

test('property: presignRequest → verifyRequest until expiry', () => {
  fc.assert(
    fc.property(keyArb, fc.integer({ min: 1, max: 604800 }), (key, expiresIn) => {
      const path = `/bucket/${encodeKeyPath(key)}`;
      const query = presignRequest({
        method: 'PUT',
        path,
        headers: { host: 'bucket.example' },
        credentials: TEST_CREDENTIALS,
        region: 'us-east-1',
        service: 's3',
        date,
        expiresIn,
      });
      const req: RequestLike = { method: 'PUT', rawPath: path, query, headers: { host: 'bucket.example' } };
      assert.equal(verifyRequest(req, lookup, { now: date.getTime() + expiresIn * 1000 }).kind, 'presigned');
      assert.throws(() => verifyRequest(req, lookup, { now: date.getTime() + expiresIn * 1000 + 1 }), {
        code: 'AccessDenied',
      });
    }),
    { numRuns: 150 },
  );
  assert.throws(
    () =>
      presignRequest({
        method: 'GET',
        path: '/b/k',
        headers: { host: 'h' },
        credentials: TEST_CREDENTIALS,
        region: 'us-east-1',
        service: 's3',
        expiresIn: 604801,
      }),
    RangeError,
  );
});
