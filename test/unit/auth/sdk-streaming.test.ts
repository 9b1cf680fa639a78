// The real AWS SDK (@aws-sdk/client-s3) against a tiny node:http server that runs our verification:
// its default uploads (aws-chunked with trailing checksums, checksum headers) verify; corrupted bodies are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { S3AuthError, verifyRequest, type RequestLike } from '../../../shared/sigv4/index.ts';
import { decodeBody } from '../../../gateway/auth/body.ts';

const CREDENTIALS = { accessKeyId: 'AKIDPREDASTORETEST', secretAccessKey: 'predastore-test-secret' };
const stored = new Map<string, Buffer>();
const seen: Array<Record<string, string>> = [];
let corruptAt = -1;
let server: Server;
let client: S3Client;

function requestLike(req: IncomingMessage): RequestLike {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    rawPath: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers: req.headersDistinct,
  };
}

async function* corrupting(source: AsyncIterable<Buffer>, at: number): AsyncGenerator<Buffer> {
  let offset = 0;
  for await (const piece of source) {
    if (at >= offset && at < offset + piece.length) {
      const copy = Buffer.from(piece);
      copy[at - offset] = copy[at - offset]! ^ 0x01;
      yield copy;
    } else yield piece;
    offset += piece.length;
  }
}

before(async () => {
  server = createServer((req, res) => {
    void (async () => {
      try {
        const r = requestLike(req);
        seen.push(Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
        const verified = verifyRequest(r, (id) =>
          id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined,
        );
        const source = corruptAt >= 0 ? corrupting(req, corruptAt) : req;
        const body = await decodeBody(r, verified, source).toBuffer();
        stored.set(r.rawPath, body);
        res.writeHead(200, { etag: '"0"' }).end();
      } catch (error) {
        req.resume();
        const e = error instanceof S3AuthError ? error : new S3AuthError('InvalidRequest', String(error));
        res
          .writeHead(e.status, { 'content-type': 'application/xml' })
          .end(
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`,
          );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
});

after(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const payload = Buffer.alloc(200_000);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff;

test('SDK PutObject with a stream body (aws-chunked, trailing checksum) verifies for every algorithm', async () => {
  for (const algorithm of [undefined, 'CRC32', 'CRC32C', 'SHA1', 'SHA256'] as Array<
    ChecksumAlgorithm | undefined
  >) {
    seen.length = 0;
    const key = `stream-${algorithm ?? 'default'}/ä b+c`;
    await client.send(
      new PutObjectCommand({
        Bucket: 'bucket',
        Key: key,
        Body: Readable.from([payload.subarray(0, 70_000), payload.subarray(70_000)]),
        ContentLength: payload.length,
        ChecksumAlgorithm: algorithm,
      }),
    );
    const h = seen[0]!;
    assert.match(h['x-amz-content-sha256'] ?? '', /^STREAMING-UNSIGNED-PAYLOAD-TRAILER$/, JSON.stringify(h));
    assert.equal(h['x-amz-trailer'], `x-amz-checksum-${(algorithm ?? 'CRC32').toLowerCase()}`);
    const path = [...stored.keys()].find((p) => p.startsWith(`/bucket/stream-${algorithm ?? 'default'}`))!;
    assert.deepEqual(stored.get(path), payload);
  }
});

test('SDK PutObject with a Buffer body (signed payload hash + checksum header) verifies', async () => {
  seen.length = 0;
  await client.send(
    new PutObjectCommand({ Bucket: 'bucket', Key: 'buffer', Body: payload, ChecksumAlgorithm: 'CRC32C' }),
  );
  assert.deepEqual(stored.get('/bucket/buffer'), payload);
  assert.ok(seen[0]!['x-amz-checksum-crc32c'] || seen[0]!['x-amz-trailer'], JSON.stringify(seen[0]));
});

test('a body corrupted in transit is refused with BadDigest / XAmzContentSHA256Mismatch', async () => {
  try {
    corruptAt = 150_000;
    await assert.rejects(
      client.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'corrupt-stream',
          Body: Readable.from([payload]),
          ContentLength: payload.length,
        }),
      ),
      (e: { name?: string }) => e.name === 'BadDigest',
    );
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'corrupt-buffer', Body: payload })),
      (e: { name?: string }) => e.name === 'BadDigest' || e.name === 'XAmzContentSHA256Mismatch',
    );
    assert.equal(stored.has('/bucket/corrupt-stream'), false);
    assert.equal(stored.has('/bucket/corrupt-buffer'), false);
  } finally {
    corruptAt = -1;
  }
});
