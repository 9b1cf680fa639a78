// PUT then GET through the pure data path: ObjectEncoder's segments are "stored" in a map per
// (chunk, shard, segment); ranges are read back through planRange, with up to m shards of a
// chunk unreadable (degradedFetches + decodeStripe), and compared with the original bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../../../shared/checksum/index.ts';
import { RS_2_1, RS_3_2, ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';
import {
  DataPathError,
  ObjectEncoder,
  decodeStripe,
  degradedFetches,
  makeGeometry,
  planRange,
  sliceChunk,
  stripeLayout,
} from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { bytes } from './reference.ts';

interface Stored {
  data: Buffer;
  crc: number;
}

async function put(g: Geometry, body: Buffer): Promise<Map<string, Stored>> {
  const store = new Map<string, Stored>();
  const encoder = new ObjectEncoder({ geometry: g, maxStripesInFlight: 3 });
  async function* pieces() {
    for (let at = 0; at < body.length; at += 77) yield body.subarray(at, at + 77);
  }
  for await (const stripe of encoder.encode(pieces())) {
    stripe.segments.forEach((segment, shard) => {
      const copy = Buffer.from(segment);
      store.set(`${stripe.chunkIndex}/${shard}/${stripe.stripeIndex}`, { data: copy, crc: crc32c(copy) });
    });
    stripe.release();
  }
  return store;
}

async function get(
  g: Geometry,
  codec: ReedSolomonCodec,
  store: Map<string, Stored>,
  size: number,
  range: { start: number; end: number },
  unavailable: ReadonlySet<number>,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const chunk of planRange(g, size, range).chunks) {
    const fast = chunk.fetches.every((f) => !unavailable.has(f.shardIndex));
    if (fast) {
      parts.push(
        ...sliceChunk(
          chunk,
          (shard, stripe) => (store.get(`${chunk.chunkIndex}/${shard}/${stripe}`) as Stored).data,
        ),
      );
      continue;
    }
    const fetches = degradedFetches(chunk, g.scheme, unavailable);
    const decoded = new Map<number, readonly Buffer[]>();
    for (let s = chunk.firstStripe; s <= chunk.lastStripe; s++) {
      const segments: (Buffer | undefined)[] = new Array(g.scheme.k + g.scheme.m).fill(undefined);
      const crcs: (number | undefined)[] = new Array(g.scheme.k + g.scheme.m).fill(undefined);
      for (const f of fetches) {
        assert.ok(s >= f.firstSegment && s < f.firstSegment + f.segmentCount);
        const stored = store.get(`${chunk.chunkIndex}/${f.shardIndex}/${s}`) as Stored;
        segments[f.shardIndex] = stored.data;
        crcs[f.shardIndex] = stored.crc;
      }
      const layout = stripeLayout(g, chunk.chunkLength, s);
      decoded.set(s, (await decodeStripe({ codec, layout, segments, crcs })).dataSegments);
    }
    parts.push(
      ...sliceChunk(chunk, (shard, stripe) => (decoded.get(stripe) as readonly Buffer[])[shard] as Buffer),
    );
  }
  return Buffer.concat(parts);
}

test('objects read back exactly, whole or in ranges, with up to m shards unreadable', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<RsScheme>(RS_2_1, RS_3_2, { k: 4, m: 2 }),
      fc.integer({ min: 1, max: 3000 }),
      fc.nat(),
      fc.nat(),
      fc.nat(),
      async (scheme, size, a, b, lossSeed) => {
        const g = makeGeometry(scheme, { segmentSize: 32, maxChunkSize: 3 * scheme.k * 32 });
        const codec = new ReedSolomonCodec(scheme);
        const body = bytes(size, size * 31 + 1);
        const store = await put(g, body);
        const [start, end] = [a % size, b % size].sort((x, y) => x - y) as [number, number];
        const unavailable = new Set<number>();
        for (let i = 0; i < lossSeed % (scheme.m + 1); i++)
          unavailable.add((lossSeed >> (3 * i)) % (scheme.k + scheme.m));
        const got = await get(g, codec, store, size, { start, end }, unavailable);
        assert.ok(got.equals(body.subarray(start, end + 1)));
      },
    ),
    { numRuns: 100 },
  );
});

test('a corrupted stored segment is caught by its CRC and rebuilt from parity', async () => {
  const g = makeGeometry(RS_3_2, { segmentSize: 32, maxChunkSize: 96 * 4 });
  const codec = new ReedSolomonCodec(RS_3_2);
  const body = bytes(1000, 5);
  const store = await put(g, body);
  const victim = store.get('1/1/2') as Stored;
  victim.data[3] = (victim.data[3] as number) ^ 0xff; // silent bit rot; stored CRC unchanged
  const layout = stripeLayout(g, 96 * 4, 2);
  const segments = [0, 1, 2, 3, 4].map((j) => (store.get(`1/${j}/2`) as Stored).data);
  const crcs = [0, 1, 2, 3, 4].map((j) => (store.get(`1/${j}/2`) as Stored).crc);
  const decoded = await decodeStripe({ codec, layout, segments, crcs });
  assert.deepEqual(decoded.corrupt, [1]);
  assert.deepEqual(decoded.rebuilt, [1]);
  assert.ok(decoded.bytes.equals(body.subarray(384 + 192, 384 + 288)));
  const plan = planRange(g, 1000, { start: 0, end: 999 }).chunks[0];
  assert.ok(plan);
  assert.throws(
    () => degradedFetches(plan, RS_3_2, new Set([0, 1, 2])),
    (e: unknown) => e instanceof DataPathError && e.code === 'TOO_FEW_SEGMENTS',
  );
});
