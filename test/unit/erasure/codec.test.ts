import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ErasureError,
  RS_2_1,
  RS_3_2,
  ReedSolomonCodec,
  SEGMENT_SIZE,
  StripePool,
  segmentViews,
  validateScheme,
} from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';

/** Every subset of 0..n-1 with at most `max` members. */
function erasurePatterns(n: number, max: number): number[][] {
  const patterns: number[][] = [];
  for (let bits = 0; bits < 1 << n; bits++) {
    const members = [...Array(n).keys()].filter((i) => bits & (1 << i));
    if (members.length <= max) patterns.push(members);
  }
  return patterns;
}

const schemes: RsScheme[] = [RS_2_1, RS_3_2, { k: 6, m: 3 }];

for (const scheme of schemes) {
  test(`RS(${scheme.k},${scheme.m}) rebuilds every pattern of ≤ m lost segments`, async () => {
    const codec = new ReedSolomonCodec(scheme);
    const pool = new StripePool(scheme, 1, 4096);
    const patterns = erasurePatterns(scheme.k + scheme.m, scheme.m);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4096 / 8 }).map((n) => n * 8),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (length, seed) => {
          const stripe = pool.tryAcquire();
          assert.ok(stripe);
          try {
            fillRandom(stripe.data.subarray(0, scheme.k * length), seed);
            await codec.encode(stripe, length);
            const original = segmentViews(stripe, scheme, length).map((s) => Buffer.from(s));
            for (const lost of patterns) {
              const views = segmentViews(stripe, scheme, length);
              for (const i of lost) views[i]?.fill(0xa5);
              const present = views.map((_, i) => !lost.includes(i));
              await codec.reconstruct(stripe, length, present);
              views.forEach((view, i) =>
                assert.ok(view.equals(original[i] as Buffer), `segment ${i} after losing [${lost}]`),
              );
            }
          } finally {
            pool.release(stripe);
          }
        },
      ),
      { numRuns: scheme.k === 6 ? 8 : 25 },
    );
  });
}

test('full 64 KiB segments and the short last segments of a chunk round-trip', async () => {
  const scheme = RS_3_2;
  const codec = new ReedSolomonCodec(scheme);
  const pool = new StripePool(scheme, 1);
  const stripe = pool.tryAcquire();
  assert.ok(stripe);
  for (const length of [SEGMENT_SIZE, SEGMENT_SIZE - 8, 8, 4104]) {
    fillRandom(stripe.data.subarray(0, scheme.k * length), length);
    await codec.encode(stripe, length);
    const original = Buffer.from(stripe.data.subarray(0, scheme.k * length));
    stripe.data.fill(0, 0, length); // lose data segment 0
    stripe.data.fill(0, 2 * length, 3 * length); // and data segment 2
    await codec.reconstruct(stripe, length, [false, true, false, true, true], [0, 2]);
    assert.ok(stripe.data.subarray(0, scheme.k * length).equals(original), `length ${length}`);
  }
});

test('parity is a function of the data only (independent of stale buffer contents)', async () => {
  const codec = new ReedSolomonCodec(RS_2_1);
  const a = { data: Buffer.alloc(64), parity: Buffer.alloc(32, 0xff) };
  const b = { data: Buffer.alloc(64), parity: Buffer.alloc(32, 0x11) };
  fillRandom(a.data, 9);
  a.data.copy(b.data);
  await Promise.all([codec.encode(a, 32), codec.encode(b, 32)]);
  assert.ok(a.parity.equals(b.parity));
  assert.ok(!a.parity.equals(Buffer.alloc(32, 0xff)));
});

test('bad input fails with typed errors and leaves data untouched', async () => {
  const codec = new ReedSolomonCodec(RS_2_1);
  const stripe = { data: Buffer.alloc(32, 1), parity: Buffer.alloc(16) };
  const code = async (fn: () => Promise<unknown>) => {
    const error = await fn().then(
      () => assert.fail('expected an ErasureError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ErasureError, String(error));
    return error.code;
  };
  assert.equal(await code(() => codec.encode(stripe, 12)), 'BAD_SEGMENT_LENGTH');
  assert.equal(await code(() => codec.encode(stripe, 0)), 'BAD_SEGMENT_LENGTH');
  assert.equal(await code(() => codec.encode(stripe, 24)), 'BUFFER_TOO_SMALL');
  assert.equal(await code(() => codec.reconstruct(stripe, 16, [false, false, true])), 'TOO_MANY_MISSING');
  assert.equal(await code(() => codec.reconstruct(stripe, 16, [true, true])), 'BAD_SEGMENT_INDEX');
  assert.equal(
    await code(() => codec.reconstruct(stripe, 16, [true, true, false], [5])),
    'BAD_SEGMENT_INDEX',
  );
  assert.ok(stripe.data.equals(Buffer.alloc(32, 1)));
  for (const scheme of [
    { k: 0, m: 1 },
    { k: 25, m: 1 },
    { k: 2, m: 0 },
    { k: 2, m: 7 },
    { k: 2.5, m: 1 },
  ]) {
    assert.throws(
      () => validateScheme(scheme),
      (e: unknown) => e instanceof ErasureError && e.code === 'BAD_SCHEME',
    );
  }
  assert.doesNotThrow(() => new ReedSolomonCodec({ k: 24, m: 6 }));
});

test('nothing to rebuild is a no-op', async () => {
  const codec = new ReedSolomonCodec(RS_2_1);
  const stripe = { data: Buffer.alloc(16, 3), parity: Buffer.alloc(8, 4) };
  await codec.reconstruct(stripe, 8, [true, true, true]);
  await codec.reconstruct(stripe, 8, [true, true, false], [0, 1]);
  assert.ok(stripe.parity.equals(Buffer.alloc(8, 4)));
});

function fillRandom(target: Buffer, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < target.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    target[i] = x & 0xff;
  }
}
