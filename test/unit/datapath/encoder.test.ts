import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { RS_2_1, RS_3_2, ReedSolomonCodec, StripePool } from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';
import { DataPathError, ObjectEncoder, chunkLayouts, makeGeometry } from '../../../shared/datapath/index.ts';
import type { EncodedStripe, Geometry } from '../../../shared/datapath/index.ts';
import { bytes, refMd5, refStripes } from './reference.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

async function* piecesOf(body: Buffer, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const to = Math.min(cut, body.length);
    if (to < at) continue;
    yield new Uint8Array(body.buffer, body.byteOffset + at, to - at); // sometimes empty
    at = to;
  }
  yield body.subarray(at);
}

/** Encodes `body` and checks every stripe against the reference layout and reference parity. */
async function encodeAndCheck(
  g: Geometry,
  body: Buffer,
  cuts: readonly number[],
  options = {},
): Promise<void> {
  const { k, m } = g.scheme;
  const codec = new ReedSolomonCodec(g.scheme);
  const ref = refStripes(body, { k, m, segmentSize: g.segmentSize, maxChunkSize: g.chunkSize });
  const encoder = new ObjectEncoder({ geometry: g, codec, ...options });
  let i = 0;
  const generator = encoder.encode(piecesOf(body, cuts));
  while (true) {
    const next = await generator.next();
    if (next.done === true) {
      assert.equal(next.value, encoder.result());
      break;
    }
    const stripe = next.value;
    const want = ref[i++];
    assert.ok(want, 'more stripes than the reference');
    const { segments, release, chunk, ...fields } = stripe;
    assert.deepEqual(fields, {
      chunkIndex: want.chunkIndex,
      stripeIndex: want.stripeIndex,
      objectOffset: want.objectOffset,
      logicalLength: want.logicalLength,
      segmentLength: want.segmentLength,
      lastInChunk: want.lastInChunk,
      lastInObject: want.lastInObject,
    });
    assert.equal(segments.length, k + m);
    want.data.forEach((d, j) =>
      assert.ok(d.equals(segments[j] as Buffer), `data segment ${j} of stripe ${i - 1}`),
    );
    const parity = { data: Buffer.concat(want.data), parity: Buffer.alloc(m * want.segmentLength) };
    await codec.encode(parity, want.segmentLength);
    for (let j = 0; j < m; j++) {
      const expected = parity.parity.subarray(j * want.segmentLength, (j + 1) * want.segmentLength);
      assert.ok(expected.equals(segments[k + j] as Buffer), `parity segment ${j}`);
    }
    if (want.lastInChunk) assert.deepEqual(chunk, chunkLayouts(g, body.length)[want.chunkIndex]);
    else assert.equal(chunk, undefined);
    release();
    release(); // idempotent
  }
  assert.equal(i, ref.length, 'fewer stripes than the reference');
  const result = encoder.result();
  assert.equal(result.size, body.length);
  assert.equal(result.md5Hex, refMd5(body));
  assert.deepEqual(result.chunks, chunkLayouts(g, body.length));
}

test('random bodies in random pieces match the reference (small geometries)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<RsScheme>(RS_2_1, RS_3_2, { k: 4, m: 2 }),
      fc.integer({ min: 1, max: 4 }).map((n) => n * 8),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(1500),
      fc.array(fc.nat(1500), { maxLength: 8 }),
      fc.record({
        encodeConcurrency: fc.integer({ min: 1, max: 4 }),
        maxStripesInFlight: fc.integer({ min: 1, max: 6 }),
      }),
      async (scheme, segmentSize, stripes, size, cuts, options) => {
        const g = makeGeometry(scheme, { segmentSize, maxChunkSize: stripes * scheme.k * segmentSize });
        await encodeAndCheck(g, bytes(size, size + 1), cuts, options);
      },
    ),
    { numRuns: 80 },
  );
});

test('production geometry: 0 B, 1 B, 64 KiB ± 1, 32 MiB ± 1', async () => {
  const big = randomFillSync(Buffer.allocUnsafe(32 * MiB + 1));
  const g = makeGeometry(RS_2_1);
  for (const size of [0, 1, 64 * KiB - 1, 64 * KiB + 1, 32 * MiB - 1, 32 * MiB + 1]) {
    await encodeAndCheck(g, big.subarray(0, size), [size >> 1, 1000]);
  }
  const g32 = makeGeometry(RS_3_2);
  await encodeAndCheck(g32, big.subarray(0, 64 * KiB + 1), [7]);
});

test('stripes stream out before the body has ended', async () => {
  const g = makeGeometry(RS_2_1, { segmentSize: 64, maxChunkSize: 1024 });
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  async function* body() {
    yield bytes(3 * 128, 1); // three full stripes
    await gate;
    yield bytes(10, 2);
  }
  const encoder = new ObjectEncoder({ geometry: g });
  const generator = encoder.encode(body());
  const first = await generator.next();
  assert.equal(first.done, false);
  assert.equal((first.value as EncodedStripe).stripeIndex, 0);
  (first.value as EncodedStripe).release();
  open();
  let count = 1;
  for await (const stripe of { [Symbol.asyncIterator]: () => generator }) {
    count++;
    stripe.release();
  }
  assert.equal(count, 4);
  assert.equal(encoder.result().size, 394);
});

/** True if `promise` is still pending after the event loop has run a few turns. */
async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

test('memory is bounded: the encoder waits while the consumer holds every pooled stripe', async () => {
  const g = makeGeometry(RS_2_1, { segmentSize: 64, maxChunkSize: 128 * 100 });
  const pool = new StripePool(RS_2_1, 3, 64);
  const encoder = new ObjectEncoder({ geometry: g, pool, encodeConcurrency: 2 });
  const generator = encoder.encode(piecesOf(bytes(128 * 10, 3), []));
  const held: EncodedStripe[] = [];
  for (let i = 0; i < 3; i++) held.push((await generator.next()).value as EncodedStripe);
  assert.ok(pool.inUse <= 3);
  const fourth = generator.next();
  assert.ok(await stillPending(fourth), 'a fourth stripe needs a released buffer');
  held.shift()?.release();
  const got = (await fourth).value as EncodedStripe;
  assert.equal(got.stripeIndex, 3);
  got.release();
  for (const s of held) s.release();
  for (let r = await generator.next(); r.done !== true; r = await generator.next()) r.value.release();
  assert.equal(pool.inUse, 0);
});

test('chunks in flight are bounded: chunk c+W waits until chunk c is fully released', async () => {
  const g = makeGeometry(RS_2_1, { segmentSize: 8, maxChunkSize: 32 }); // 2 stripes per chunk
  const encoder = new ObjectEncoder({ geometry: g, maxChunksInFlight: 1, maxStripesInFlight: 8 });
  const generator = encoder.encode(piecesOf(bytes(100, 4), [50]));
  const a = (await generator.next()).value as EncodedStripe;
  const b = (await generator.next()).value as EncodedStripe;
  assert.equal(b.lastInChunk, true);
  a.release();
  const nextChunk = generator.next();
  assert.ok(await stillPending(nextChunk), 'chunk 1 must wait for chunk 0');
  b.release(); // e.g. once chunk 0's shards are durable
  const c = (await nextChunk).value as EncodedStripe;
  assert.equal(c.chunkIndex, 1);
  c.release();
  for (let r = await generator.next(); r.done !== true; r = await generator.next()) r.value.release();
  assert.equal(encoder.result().chunks.length, 4);
});

test('bodies of the wrong length, bad pieces and failing sources are typed errors and free every buffer', async () => {
  const g = makeGeometry(RS_2_1, { segmentSize: 16, maxChunkSize: 64 });
  const run = async (body: AsyncIterable<unknown>, expectedSize?: number) => {
    const pool = new StripePool(RS_2_1, 4, 16);
    const encoder = new ObjectEncoder({ geometry: g, pool, expectedSize });
    try {
      for await (const stripe of encoder.encode(body)) stripe.release();
      return 'ok';
    } catch (e) {
      return e instanceof DataPathError ? e.code : (e as Error).message;
    } finally {
      assert.equal(pool.inUse, 0);
    }
  };
  assert.equal(await run(piecesOf(bytes(100, 1), [30]), 101), 'BODY_TOO_SHORT');
  assert.equal(await run(piecesOf(bytes(100, 1), [30]), 99), 'BODY_TOO_LONG');
  assert.equal(await run(piecesOf(bytes(100, 1), [30]), 100), 'ok');
  assert.equal(await run(piecesOf(Buffer.alloc(0), []), 0), 'ok');
  assert.equal(
    await run(
      (async function* () {
        yield 'text';
      })(),
    ),
    'BAD_BODY',
  );
  assert.equal(
    await run(
      (async function* () {
        yield bytes(200, 1);
        throw new Error('client went away');
      })(),
    ),
    'client went away',
  );
});

test('stopping early frees buffers and closes the body; result() needs a finished body', async () => {
  const g = makeGeometry(RS_2_1, { segmentSize: 16, maxChunkSize: 64 });
  const pool = new StripePool(RS_2_1, 4, 16);
  let closed = false;
  async function* body() {
    try {
      for (let i = 0; i < 100; i++) yield bytes(50, i);
    } finally {
      closed = true;
    }
  }
  const encoder = new ObjectEncoder({ geometry: g, pool });
  for await (const stripe of encoder.encode(body())) {
    stripe.release();
    break;
  }
  assert.equal(pool.inUse, 0);
  assert.ok(closed);
  assert.throws(
    () => encoder.result(),
    (e: unknown) => e instanceof DataPathError && e.code === 'NOT_FINISHED',
  );
  await assert.rejects(
    encoder.encode(body()).next(),
    (e: unknown) => e instanceof DataPathError && e.code === 'BAD_OPTIONS',
  );
  assert.throws(
    () => new ObjectEncoder({ geometry: g, codec: new ReedSolomonCodec(RS_3_2) }),
    (e: unknown) => e instanceof DataPathError && e.code === 'BAD_OPTIONS',
  );
  assert.throws(() => new ObjectEncoder({ geometry: g, maxChunksInFlight: 0 }), DataPathError);
});
