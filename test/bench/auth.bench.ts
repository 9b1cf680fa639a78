// Throughput of request verification, body decoding and checksums. Prints `BENCH <name> <value> <unit>`.
// Run: npm run bench:auth
import { createHash } from 'node:crypto';
import {
  AwsChunkedSigner,
  presignRequest,
  signRequest,
  verifyRequest,
  type RequestLike,
  type VerifiedRequest,
} from '../../shared/sigv4/index.ts';
import { decodeBody } from '../../gateway/auth/body.ts';
import { CHECKSUM_ALGORITHMS, checksumOf, createChecksummer } from '../../gateway/auth/checksums.ts';

const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' };
const lookup = (): string => credentials.secretAccessKey;
const MiB = 1024 * 1024;

function report(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${value.toFixed(1)} ${unit}`);
}

function perSecond(run: () => void, minMs = 1000): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    run();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

async function mibPerSecond(bytes: number, run: () => Promise<void>, rounds = 3): Promise<number> {
  let best = 0;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    best = Math.max(best, bytes / MiB / ((performance.now() - start) / 1000));
  }
  return best;
}

async function* slices(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const now = new Date();
const headers = {
  host: 'bucket.s3.local:8443',
  'x-amz-meta-a': 'b',
  'content-type': 'application/octet-stream',
};
const signed = signRequest({
  method: 'PUT',
  path: '/some/key%20name.bin',
  query: 'partNumber=3&uploadId=abc',
  headers,
  payloadHash: 'UNSIGNED-PAYLOAD',
  credentials,
  region: 'us-east-1',
  service: 's3',
  date: now,
});
const headerReq: RequestLike = {
  method: 'PUT',
  rawPath: '/some/key%20name.bin',
  query: 'partNumber=3&uploadId=abc',
  headers: { ...headers, ...signed.headers },
};
report(
  'sigv4-verify-header',
  perSecond(() => verifyRequest(headerReq, lookup, { now })),
  'req/s',
);
const presignedQuery = presignRequest({
  method: 'GET',
  path: '/some/key',
  headers: { host: 'bucket.s3.local:8443' },
  credentials,
  region: 'us-east-1',
  service: 's3',
  date: now,
  expiresIn: 3600,
});
const presignedReq: RequestLike = {
  method: 'GET',
  rawPath: '/some/key',
  query: presignedQuery,
  headers: { host: 'bucket.s3.local:8443' },
};
report(
  'sigv4-verify-presigned',
  perSecond(() => verifyRequest(presignedReq, lookup, { now })),
  'req/s',
);

const payload = Buffer.alloc(64 * MiB);
for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;

for (const algorithm of CHECKSUM_ALGORITHMS) {
  const data = algorithm === 'CRC64NVME' ? payload.subarray(0, 16 * MiB) : payload;
  report(
    `checksum-${algorithm.toLowerCase()}`,
    await mibPerSecond(data.length, async () => {
      const c = createChecksummer(algorithm);
      for (let i = 0; i < data.length; i += MiB) c.update(data.subarray(i, i + MiB));
      c.digestBase64();
    }),
    'MiB/s',
  );
}

// The seed verification of a signed streaming upload, then the body: 64 KiB signed chunks.
const streamHeaders = {
  host: 'bucket.s3.local:8443',
  'content-encoding': 'aws-chunked',
  'x-amz-decoded-content-length': String(payload.length),
};
const seed = signRequest({
  method: 'PUT',
  path: '/b/k',
  headers: streamHeaders,
  payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  credentials,
  region: 'us-east-1',
  service: 's3',
  date: now,
});
const streamReq: RequestLike = {
  method: 'PUT',
  rawPath: '/b/k',
  query: '',
  headers: { ...streamHeaders, ...seed.headers },
};
const verified: VerifiedRequest = verifyRequest(streamReq, lookup, { now });
const signer = new AwsChunkedSigner({
  signingKey: seed.signingKey,
  amzDate: seed.amzDate,
  credentialScope: seed.credentialScope,
  seedSignature: seed.signature,
});
const parts: Buffer[] = [];
for (let i = 0; i < payload.length; i += 64 * 1024)
  parts.push(signer.chunk(payload.subarray(i, i + 64 * 1024)));
parts.push(signer.finish());
const signedBody = Buffer.concat(parts);
report(
  'aws-chunked-signed-64k-decode',
  await mibPerSecond(payload.length, async () => {
    for await (const _ of decodeBody(streamReq, verified, slices(signedBody, 64 * 1024))) void _;
  }),
  'MiB/s',
);

const crc = checksumOf('CRC32', payload);
const unsignedParts: Buffer[] = [];
for (let i = 0; i < payload.length; i += 64 * 1024) {
  const c = payload.subarray(i, i + 64 * 1024);
  unsignedParts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
}
unsignedParts.push(Buffer.from(`0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`));
const unsignedBody = Buffer.concat(unsignedParts);
const unsignedReq: RequestLike = {
  method: 'PUT',
  rawPath: '/b/k',
  query: '',
  headers: {
    'x-amz-decoded-content-length': String(payload.length),
    'x-amz-trailer': 'x-amz-checksum-crc32',
  },
};
const unsignedVerified: VerifiedRequest = {
  ...verified,
  payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  payloadMode: 'streaming-unsigned-trailer',
};
report(
  'aws-chunked-unsigned-trailer-crc32-decode',
  await mibPerSecond(payload.length, async () => {
    for await (const _ of decodeBody(unsignedReq, unsignedVerified, slices(unsignedBody, 64 * 1024))) void _;
  }),
  'MiB/s',
);

const sha = createHash('sha256').update(payload).digest('hex');
const plainVerified: VerifiedRequest = { ...verified, payloadHash: sha, payloadMode: 'sha256' };
report(
  'plain-body-sha256-verify',
  await mibPerSecond(payload.length, async () => {
    const body = decodeBody({ ...unsignedReq, headers: {} }, plainVerified, slices(payload, 64 * 1024));
    for await (const _ of body) void _;
  }),
  'MiB/s',
);
