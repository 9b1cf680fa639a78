// aws-chunked decoding: AWS documentation vectors, arbitrary input splits, corruption anywhere is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AwsChunkedSigner,
  S3AuthError,
  signingKey,
  verifyHeaderAuth,
  type ChunkSigningContext,
} from '../../../shared/sigv4/index.ts';
import {
  AwsChunkedDecoder,
  decodeAwsChunked,
  type AwsChunkedOptions,
} from '../../../gateway/auth/aws-chunked.ts';
import { checksumOf } from '../../../gateway/auth/checksums.ts';
import { decodeBody } from '../../../gateway/auth/body.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const docContext = (seedSignature: string): ChunkSigningContext => ({
  signingKey: signingKey(SECRET, '20130524', 'us-east-1', 's3'),
  amzDate: '20130524T000000Z',
  credentialScope: SCOPE,
  seedSignature,
});

function docBody(signatures: [string, string, string], trailer?: string): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
    Buffer.alloc(65536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
    Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n`),
    Buffer.from(trailer ?? '\r\n'),
  ]);
}

const DOC_CHUNKED: [string, string, string] = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

async function* pieces(data: Buffer, cuts: readonly number[]): AsyncGenerator<Buffer> {
  let last = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)) {
    yield data.subarray(last, cut);
    last = cut;
  }
  yield data.subarray(last);
}

test('AWS doc example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): seed request + chunks verify end to end', async () => {
  const headers = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
      'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,' +
      'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
  const req = { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', query: '', headers };
  const verified = verifyHeaderAuth(req, () => SECRET, { now: Date.UTC(2013, 4, 24) });
  const raw = docBody(DOC_CHUNKED);
  assert.equal(raw.length, 66824);
  const body = decodeBody(req, verified, pieces(raw, [1, 100, 70000]));
  const payload = await body.toBuffer();
  assert.deepEqual(payload, Buffer.alloc(66560, 'a'));
  assert.equal((await body.result).decodedLength, 66560);

  // one corrupted payload byte in the second chunk
  const corrupted = Buffer.from(raw);
  corrupted[66000] = 'b'.charCodeAt(0);
  const bad = decodeBody(req, verified, pieces(corrupted, []));
  await assert.rejects(bad.toBuffer(), { code: 'SignatureDoesNotMatch' });
  await assert.rejects(bad.result, { code: 'SignatureDoesNotMatch' });
});

test('AWS doc example with trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, crc32c) verifies', async () => {
  const ctx = docContext('106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e');
  const raw = docBody(
    [
      'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
      '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
      '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
    ],
    'x-amz-checksum-crc32c:sOO8/Q==\r\n' +
      'x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n',
  );
  const options: AwsChunkedOptions = {
    signing: ctx,
    trailer: true,
    declaredTrailers: ['x-amz-checksum-crc32c'],
    decodedContentLength: 66560,
  };
  const gen = decodeAwsChunked(pieces(raw, [3, 65600, 66700]), options);
  let length = 0;
  let step = await gen.next();
  while (!step.done) {
    length += step.value.length;
    step = await gen.next();
  }
  assert.equal(length, 66560);
  assert.deepEqual(step.value.trailers, [['x-amz-checksum-crc32c', 'sOO8/Q==']]);
  assert.equal(checksumOf('CRC32C', Buffer.alloc(66560, 'a')), 'sOO8/Q==');

  const wrongTrailer = Buffer.from(raw.toString('latin1').replace('sOO8/Q==', 'sOO8/Q=A'), 'latin1');
  await assert.rejects(collect(decodeAwsChunked(pieces(wrongTrailer, []), options)), {
    code: 'SignatureDoesNotMatch',
  });
});

interface Encoded {
  payload: Buffer;
  raw: Buffer;
  options: AwsChunkedOptions;
}

const ctxArb = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  seed: fc.stringMatching(/^[0-9a-f]{64}$/),
});

/** A payload, its chunking, and the encoded body in one of the three aws-chunked forms. */
const encodedArb: fc.Arbitrary<Encoded> = fc
  .record({
    payload: fc.uint8Array({ maxLength: 3000 }),
    sizes: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
    form: fc.constantFrom('signed', 'signed-trailer', 'unsigned-trailer'),
    ctx: ctxArb,
  })
  .map(({ payload, sizes, form, ctx }) => {
    const data = Buffer.from(payload);
    const chunks: Buffer[] = [];
    for (let off = 0, i = 0; off < data.length; i++) {
      const size = sizes[i % sizes.length]!;
      chunks.push(data.subarray(off, off + size));
      off += size;
    }
    const signing: ChunkSigningContext = {
      signingKey: ctx.key,
      amzDate: '20261126T060000Z',
      credentialScope: '20261126/us-east-1/s3/aws4_request',
      seedSignature: ctx.seed,
    };
    const crc = checksumOf('CRC32', data);
    if (form === 'unsigned-trailer') {
      const raw = Buffer.concat([
        ...chunks.map((c) =>
          Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]),
        ),
        Buffer.from(`0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`),
      ]);
      const options = {
        trailer: true,
        declaredTrailers: ['x-amz-checksum-crc32'],
        decodedContentLength: data.length,
      };
      return { payload: data, raw, options };
    }
    const signer = new AwsChunkedSigner(signing);
    const trailer = form === 'signed-trailer';
    const raw = Buffer.concat([
      ...chunks.map((c) => signer.chunk(c)),
      signer.finish(trailer ? [['x-amz-checksum-crc32', crc]] : []),
    ]);
    const options: AwsChunkedOptions = {
      signing,
      trailer,
      declaredTrailers: trailer ? ['x-amz-checksum-crc32'] : undefined,
      decodedContentLength: data.length,
      minChunkSize: 1,
    };
    return { payload: data, raw, options };
  });

test('property: any split of the input into pieces decodes to the payload (all three forms)', async () => {
  await fc.assert(
    fc.asyncProperty(encodedArb, fc.array(fc.nat(), { maxLength: 12 }), async (e, cuts) => {
      const decoded = await collect(decodeAwsChunked(pieces(e.raw, cuts), e.options));
      assert.deepEqual(decoded, e.payload);
    }),
    { numRuns: 200 },
  );
});

test('property: byte-at-a-time input decodes and holds no more than one line in memory', async () => {
  await fc.assert(
    fc.property(encodedArb, (e) => {
      const decoder = new AwsChunkedDecoder(e.options);
      const out: Buffer[] = [];
      for (let i = 0; i < e.raw.length; i++) decoder.push(e.raw.subarray(i, i + 1), (d) => out.push(d));
      decoder.end();
      assert.deepEqual(Buffer.concat(out), e.payload);
    }),
    { numRuns: 40 },
  );
});

async function decodeWithTrailers(
  raw: AsyncIterable<Buffer>,
  options: AwsChunkedOptions,
): Promise<{ payload: Buffer; trailers: Array<[string, string]> }> {
  const gen = decodeAwsChunked(raw, options);
  const parts: Buffer[] = [];
  let step = await gen.next();
  while (!step.done) {
    parts.push(step.value);
    step = await gen.next();
  }
  return { payload: Buffer.concat(parts), trailers: step.value.trailers };
}

test('property: flipping any single byte of the body is refused (signature, framing or checksum)', async () => {
  await fc.assert(
    fc.asyncProperty(encodedArb, fc.nat(), fc.array(fc.nat(), { maxLength: 4 }), async (e, at, cuts) => {
      const corrupted = Buffer.from(e.raw);
      const index = at % corrupted.length;
      corrupted[index] = corrupted[index]! ^ 0x01; // never a case flip: hex and names are compared as written
      const run = async (): Promise<void> => {
        const { payload, trailers } = await decodeWithTrailers(pieces(corrupted, cuts), e.options);
        // without signatures, the trailing CRC32 protects the payload (decodeBody compares it)
        const crc = trailers.find(([n]) => n === 'x-amz-checksum-crc32')?.[1];
        if (crc !== undefined && crc !== checksumOf('CRC32', payload))
          throw new S3AuthError('BadDigest', 'crc');
        assert.ok(e.options.signing, 'the unsigned form always carries the CRC trailer');
      };
      await assert.rejects(run(), (err: unknown) => err instanceof S3AuthError);
    }),
    { numRuns: 300 },
  );
});

test('truncated bodies are IncompleteBody; oversize chunks are refused before their data', async () => {
  await fc.assert(
    fc.asyncProperty(encodedArb, fc.nat(), async (e, at) => {
      const cut = at % e.raw.length;
      const run = collect(decodeAwsChunked(pieces(e.raw.subarray(0, cut), []), e.options));
      // only the final blank line may be missing (tolerated, as other S3 servers do); nothing else
      if (cut === e.raw.length - 2) assert.deepEqual(await run, e.payload);
      else await assert.rejects(run, (err: unknown) => err instanceof S3AuthError);
    }),
    { numRuns: 100 },
  );
  const decoder = new AwsChunkedDecoder({ trailer: false, decodedContentLength: 10 });
  assert.throws(() => decoder.push(Buffer.from('ff\r\n'), () => undefined), { code: 'InvalidArgument' });
  const sizes = new AwsChunkedDecoder({ trailer: false });
  assert.throws(() => sizes.push(Buffer.from('zz\r\n'), () => undefined), { code: 'InvalidChunkSizeError' });
  const longLine = new AwsChunkedDecoder({ trailer: false });
  assert.throws(() => longLine.push(Buffer.alloc(10000, '1'), () => undefined), { code: 'IncompleteBody' });
});

test('signed chunks smaller than 8 KiB are refused unless last (InvalidChunkSizeError)', () => {
  const signing: ChunkSigningContext = {
    signingKey: Buffer.alloc(32, 1),
    amzDate: '20261126T060000Z',
    credentialScope: '20261126/us-east-1/s3/aws4_request',
    seedSignature: 'a'.repeat(64),
  };
  const signer = new AwsChunkedSigner(signing);
  const raw = Buffer.concat([
    signer.chunk(Buffer.alloc(100)),
    signer.chunk(Buffer.alloc(100)),
    signer.finish(),
  ]);
  const decoder = new AwsChunkedDecoder({ signing, trailer: false, decodedContentLength: 200 });
  assert.throws(() => decoder.push(raw, () => undefined), { code: 'InvalidChunkSizeError' });
  const okSigner = new AwsChunkedSigner(signing);
  const ok = Buffer.concat([
    okSigner.chunk(Buffer.alloc(8192)),
    okSigner.chunk(Buffer.alloc(100)),
    okSigner.finish(),
  ]);
  const okDecoder = new AwsChunkedDecoder({ signing, trailer: false, decodedContentLength: 8292 });
  okDecoder.push(ok, () => undefined);
  assert.equal(okDecoder.end().decodedLength, 8292);
});
