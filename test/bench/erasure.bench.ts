// npm run bench:erasure — RS encode and reconstruct throughput on 256 MiB of object data,
// 64 KiB segments, pooled stripe buffers, several stripes in flight on the libuv pool.
import { randomFillSync } from 'node:crypto';
import {
  RS_2_1,
  RS_3_2,
  ReedSolomonCodec,
  SEGMENT_SIZE,
  StripePool,
  schemeName,
} from '../../shared/erasure/index.ts';
import type { RsScheme, StripeBuffers } from '../../shared/erasure/index.ts';
import { ObjectEncoder, makeGeometry } from '../../shared/datapath/index.ts';

const TOTAL = 256 * 1024 * 1024;
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const source = randomFillSync(Buffer.allocUnsafe(TOTAL));

const PASSES = Number(process.env.BENCH_PASSES ?? 3);

function report(name: string, bytes: number, ms: number): void {
  console.log(`BENCH ${name} ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
}

/** Fastest of PASSES runs: the machine is shared, the fastest pass is the least disturbed one. */
async function bestOf(run: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < PASSES; i++) best = Math.min(best, await run());
  return best;
}

/** Runs `work` once per stripe of the 256 MiB source, keeping IN_FLIGHT stripes going. */
async function overStripes(
  scheme: RsScheme,
  pool: StripePool,
  work: (stripe: StripeBuffers, offset: number) => Promise<void>,
): Promise<number> {
  const stripeBytes = scheme.k * SEGMENT_SIZE;
  const stripes = Math.floor(TOTAL / stripeBytes);
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < stripes) {
      const offset = next++ * stripeBytes;
      const stripe = await pool.acquire();
      try {
        await work(stripe, offset);
      } finally {
        pool.release(stripe);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return performance.now() - start;
}

for (const scheme of [RS_2_1, RS_3_2]) {
  const codec = new ReedSolomonCodec(scheme);
  const pool = new StripePool(scheme, IN_FLIGHT);
  const stripeBytes = scheme.k * SEGMENT_SIZE;
  const bytes = Math.floor(TOTAL / stripeBytes) * stripeBytes;
  const name = schemeName(scheme)
    .replace(/[(),]/g, (c) => (c === ',' ? '_' : ''))
    .toLowerCase();

  await overStripes(scheme, pool, async (stripe) => codec.encode(stripe, SEGMENT_SIZE)); // warm-up
  report(
    `erasure_encode_${name}`,
    bytes,
    await bestOf(() => overStripes(scheme, pool, (s) => codec.encode(s, SEGMENT_SIZE))),
  );
  report(
    `erasure_copy_and_encode_${name}`,
    bytes,
    await bestOf(() =>
      overStripes(scheme, pool, (stripe, offset) => {
        source.copy(stripe.data, 0, offset, offset + stripeBytes);
        return codec.encode(stripe, SEGMENT_SIZE);
      }),
    ),
  );
  // Degraded read: the first m data segments are lost (as many as the scheme tolerates, capped at k).
  const present = Array.from({ length: scheme.k + scheme.m }, (_, i) => i >= Math.min(scheme.m, scheme.k));
  report(
    `erasure_reconstruct_${name}_lost${Math.min(scheme.m, scheme.k)}`,
    bytes,
    await bestOf(() =>
      overStripes(scheme, pool, (stripe) => codec.reconstruct(stripe, SEGMENT_SIZE, present)),
    ),
  );
  // For comparison: fresh buffers per stripe instead of the pool.
  const freshMs = await bestOf(() =>
    overStripes(scheme, pool, (_stripe, offset) => {
      const fresh = {
        data: Buffer.from(source.subarray(offset, offset + stripeBytes)),
        parity: Buffer.alloc(scheme.m * SEGMENT_SIZE),
      };
      return codec.encode(fresh, SEGMENT_SIZE);
    }),
  );
  report(`erasure_fresh_buffers_encode_${name}`, bytes, freshMs);
}

// The whole PUT-side pipeline without I/O: body pieces of 1 MiB → ObjectEncoder (copy into pooled
// stripes, MD5, RS encode) → a consumer that releases each stripe at once.
for (const scheme of [RS_2_1, RS_3_2]) {
  const geometry = makeGeometry(scheme);
  async function* body() {
    for (let at = 0; at < TOTAL; at += 1024 * 1024) yield source.subarray(at, at + 1024 * 1024);
  }
  const ms = await bestOf(async () => {
    const start = performance.now();
    const encoder = new ObjectEncoder({ geometry });
    for await (const stripe of encoder.encode(body())) stripe.release();
    return performance.now() - start;
  });
  const name = schemeName(scheme)
    .replace(/[(),]/g, (c) => (c === ',' ? '_' : ''))
    .toLowerCase();
  report(`datapath_object_encoder_with_md5_${name}`, TOTAL, ms);
}
