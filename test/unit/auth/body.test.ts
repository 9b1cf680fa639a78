// Whole-body checks for non-chunked uploads: x-amz-content-sha256, Content-MD5, x-amz-checksum-*, lengths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { RequestLike, VerifiedRequest } from '../../../shared/sigv4/index.ts';
import { decodeBody } from '../../../gateway/auth/body.ts';
import { checksumOf } from '../../../gateway/auth/checksums.ts';

const data = Buffer.from('Welcome to Amazon S3.');
const sha = createHash('sha256').update(data).digest('hex');

function verified(payloadHash: string, payloadMode: VerifiedRequest['payloadMode']): VerifiedRequest {
  return {
    kind: 'header',
    accessKeyId: 'AK',
    region: 'us-east-1',
    service: 's3',
    amzDate: '20261126T060000Z',
    requestTime: new Date('2026-11-26T06:00:00Z'),
    credentialScope: '20261126/us-east-1/s3/aws4_request',
    signedHeaders: ['host'],
    signature: 'a'.repeat(64),
    signingKey: Buffer.alloc(32),
    payloadHash,
    payloadMode,
  };
}

function req(headers: Record<string, string>): RequestLike {
  return { method: 'PUT', rawPath: '/b/k', query: '', headers };
}

async function* chunks(buf: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += 5) yield buf.subarray(i, i + 5);
}

test('x-amz-content-sha256 is checked at the end of the body', async () => {
  const ok = decodeBody(req({}), verified(sha, 'sha256'), chunks(data));
  assert.deepEqual(await ok.toBuffer(), data);
  assert.equal((await ok.result).decodedLength, data.length);
  const other = Buffer.from(data);
  other[3] = 0;
  await assert.rejects(decodeBody(req({}), verified(sha, 'sha256'), chunks(other)).toBuffer(), {
    code: 'XAmzContentSHA256Mismatch',
    status: 400,
  });
  // upper-case hex is the same hash
  assert.deepEqual(
    await decodeBody(req({}), verified(sha.toUpperCase(), 'sha256'), chunks(data)).toBuffer(),
    data,
  );
});

test('Content-MD5: verified; malformed is InvalidDigest, wrong is BadDigest', async () => {
  const md5 = createHash('md5').update(data).digest('base64');
  assert.deepEqual(
    await decodeBody(
      req({ 'content-md5': md5 }),
      verified('UNSIGNED-PAYLOAD', 'unsigned'),
      chunks(data),
    ).toBuffer(),
    data,
  );
  assert.throws(
    () => decodeBody(req({ 'content-md5': 'abc' }), verified('UNSIGNED-PAYLOAD', 'unsigned'), chunks(data)),
    {
      code: 'InvalidDigest',
    },
  );
  const wrong = createHash('md5').update('x').digest('base64');
  await assert.rejects(
    decodeBody(
      req({ 'content-md5': wrong }),
      verified('UNSIGNED-PAYLOAD', 'unsigned'),
      chunks(data),
    ).toBuffer(),
    { code: 'BadDigest' },
  );
});

test('x-amz-checksum-* headers: each algorithm verified, one at most, well-formed', async () => {
  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const body = decodeBody(
      req({ [name]: checksumOf(algorithm, data) }),
      verified(sha, 'sha256'),
      chunks(data),
    );
    await body.toBuffer();
    assert.deepEqual((await body.result).checksum, { algorithm, value: checksumOf(algorithm, data) });
    await assert.rejects(
      decodeBody(
        req({ [name]: checksumOf(algorithm, Buffer.from('other')) }),
        verified('UNSIGNED-PAYLOAD', 'unsigned'),
        chunks(data),
      ).toBuffer(),
      { code: 'BadDigest' },
    );
  }
  assert.throws(
    () =>
      decodeBody(
        req({
          'x-amz-checksum-crc32': checksumOf('CRC32', data),
          'x-amz-checksum-sha1': checksumOf('SHA1', data),
        }),
        verified(sha, 'sha256'),
        chunks(data),
      ),
    { code: 'InvalidRequest' },
  );
  assert.throws(
    () => decodeBody(req({ 'x-amz-checksum-crc32': 'AAAA' }), verified(sha, 'sha256'), chunks(data)),
    {
      code: 'InvalidRequest',
    },
  );
});

test('computeChecksum returns a checksum to store even when the client sent none', async () => {
  const body = decodeBody(req({}), verified('UNSIGNED-PAYLOAD', 'unsigned'), chunks(data), {
    computeChecksum: 'CRC32C',
  });
  await body.toBuffer();
  assert.deepEqual((await body.result).computed, { algorithm: 'CRC32C', value: checksumOf('CRC32C', data) });
});

test('Content-Length mismatch and an abandoned iteration both fail the result', async () => {
  await assert.rejects(
    decodeBody(
      req({ 'content-length': '999' }),
      verified('UNSIGNED-PAYLOAD', 'unsigned'),
      chunks(data),
    ).toBuffer(),
    { code: 'IncompleteBody' },
  );
  const body = decodeBody(req({}), verified('UNSIGNED-PAYLOAD', 'unsigned'), chunks(data));
  for await (const _ of body) break;
  await assert.rejects(body.result, { code: 'IncompleteBody' });
});

test('aws-chunked header rules: decoded length required when signed, trailers need a -TRAILER hash', () => {
  assert.throws(
    () =>
      decodeBody(req({}), verified('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'streaming-signed'), chunks(data)),
    { code: 'MissingContentLength', status: 411 },
  );
  assert.throws(
    () =>
      decodeBody(
        req({ 'x-amz-decoded-content-length': '5', 'x-amz-trailer': 'x-amz-checksum-crc32' }),
        verified('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'streaming-signed'),
        chunks(data),
      ),
    { code: 'InvalidRequest' },
  );
  assert.throws(
    () =>
      decodeBody(
        req({ 'x-amz-decoded-content-length': '-1' }),
        verified('STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'streaming-unsigned-trailer'),
        chunks(data),
      ),
    { code: 'InvalidArgument' },
  );
});

test('decodedLength, body and verified() for callers that want the { body, verified } shape', async () => {
  const body = decodeBody(
    req({ 'content-length': String(data.length) }),
    verified(sha, 'sha256'),
    chunks(data),
  );
  assert.equal(body.decodedLength, data.length);
  assert.equal(body.body, body);
  const parts: Buffer[] = [];
  for await (const p of body.body) parts.push(p);
  await body.verified();
  assert.deepEqual(Buffer.concat(parts), data);
});

test('stopping early closes the source (the request stream can be cleaned up)', async () => {
  let closed = false;
  async function* source(): AsyncGenerator<Buffer> {
    try {
      yield data.subarray(0, 5);
      yield data.subarray(5);
    } finally {
      closed = true;
    }
  }
  const body = decodeBody(req({}), verified('UNSIGNED-PAYLOAD', 'unsigned'), source());
  for await (const _ of body) break;
  assert.equal(closed, true);
  await assert.rejects(body.result, { code: 'IncompleteBody' });
});
