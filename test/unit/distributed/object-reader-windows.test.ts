// GET in read windows (object-reader.ts) against an in-memory shard client: exact bytes whole and in
// ranges, every request within its window, and a shard that fails is asked once per chunk, not once
// per window, with one read-repair issue per chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ObjectEncoder, makeGeometry } from '../../../shared/datapath/index.ts';
import { RS_3_2 } from '../../../shared/erasure/index.ts';
import type { ShardClient } from '../../../shared/shard-client/index.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import type { DataPathContext } from '../../../gateway/backend/distributed/context.ts';
import { readObject } from '../../../gateway/backend/distributed/object-reader.ts';
import type { ReadIssue } from '../../../gateway/backend/distributed/object-reader.ts';

const SEGMENT = 64;
const STRIPES_PER_CHUNK = 10;
const WINDOW = 3;
const g = makeGeometry(RS_3_2, { segmentSize: SEGMENT, maxChunkSize: 3 * SEGMENT * STRIPES_PER_CHUNK });
const NODES = ['a', 'b', 'c', 'd', 'e'];

interface Call {
  node: string;
  chunk: number;
  shard: number;
  first: number;
  count: number;
}

async function stored(body: Buffer): Promise<Map<string, Buffer[]>> {
  const shards = new Map<string, Buffer[]>();
  const encoder = new ObjectEncoder({ geometry: g, expectedSize: body.length });
  for await (const stripe of encoder.encode(
    (async function* () {
      yield body;
    })(),
  )) {
    stripe.segments.forEach((segment, j) => {
      const id = `${stripe.chunkIndex}/${j}`;
      if (!shards.has(id)) shards.set(id, []);
      shards.get(id)!.push(Buffer.from(segment));
    });
    stripe.release();
  }
  return shards;
}

function setup(body: Buffer, shards: Map<string, Buffer[]>, down: Set<string>) {
  const calls: Call[] = [];
  const receiveBuffers = new Set<Buffer>();
  const client = {
    async fetchShard(
      peer: { host: string },
      key: { chunkIndex: number; shardIndex: number },
      range: { firstSegment?: number; segmentCount?: number },
      options: { into?: Buffer },
    ) {
      const first = range.firstSegment ?? 0;
      const all = shards.get(`${key.chunkIndex}/${key.shardIndex}`)!;
      const count = range.segmentCount || all.length - first;
      calls.push({ node: peer.host, chunk: key.chunkIndex, shard: key.shardIndex, first, count });
      if (down.has(peer.host))
        throw Object.assign(new Error(`${peer.host} is down`), { code: 'UNREACHABLE' });
      receiveBuffers.add(options.into!);
      const segments = all.slice(first, first + count);
      const totalLength = segments.reduce((n, s) => n + s.length, 0);
      assert.ok(options.into && options.into.length >= totalLength, 'each request receives into one buffer');
      let at = 0;
      const views = segments.map((s) => {
        s.copy(options.into!, at);
        at += s.length;
        return options.into!.subarray(at - s.length, at);
      });
      return { firstSegment: first, segments: views, totalLength };
    },
  };
  const chunkCount = Math.ceil(body.length / g.chunkSize);
  const record = {
    v: 1,
    versionId: randomBytes(16).toString('hex'),
    size: body.length,
    segmentSize: SEGMENT,
    chunkSize: g.chunkSize,
    chunks: Array.from({ length: chunkCount }, (_, c) => ({
      length: Math.min(g.chunkSize, body.length - c * g.chunkSize),
      k: 3,
      m: 2,
      epoch: 0,
      // Rotate placement so the failed node holds a different shard index in each chunk.
      nodes: NODES.map((_, j) => NODES[(j + c) % NODES.length]!),
    })),
  } as unknown as ObjectRecord;
  const ctx = {
    shards: client as unknown as ShardClient,
    peers: new Map(NODES.map((n) => [n, { host: n, port: 1 }])),
    geometry: g,
    readTimeoutMs: 1000,
    minBytesPerMs: 1,
    readWindowStripes: WINDOW,
    readWindowsAhead: 2,
  } as unknown as DataPathContext;
  return { calls, record, ctx, receiveBuffers };
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

test('a GET reads window by window and returns exactly the object and its ranges', async () => {
  const body = randomBytes(g.chunkSize * 2 + 777);
  const shards = await stored(body);
  for (const range of [undefined, { start: 5, end: body.length - 3 }, { start: 1000, end: 3000 }]) {
    const { calls, record, ctx } = setup(body, shards, new Set());
    const reading = readObject(ctx, record, range ? { range } : {});
    await reading.first;
    const got = await collect(reading.body);
    assert.ok(got.equals(range ? body.subarray(range.start, range.end + 1) : body));
    assert.ok(
      calls.every((c) => c.count <= WINDOW && c.shard < 3),
      'data shards only, one window each',
    );
  }
});

test('a shard that fails is asked once per chunk; its chunk is rebuilt; one issue per chunk', async () => {
  const body = randomBytes(g.chunkSize * 2 + 5000);
  const shards = await stored(body);
  const { calls, record, ctx } = setup(body, shards, new Set(['b']));
  const issues: ReadIssue[] = [];
  const reading = readObject(ctx, record, { onIssue: (issue) => issues.push(issue) });
  await reading.first;
  assert.ok((await collect(reading.body)).equals(body));
  const chunks = record.chunks.length;
  // With two windows in flight, a chunk's first two windows may both try the node before either failed.
  const toDown = calls.filter((c) => c.node === 'b');
  for (let c = 0; c < chunks; c++) {
    const n = toDown.filter((x) => x.chunk === c).length;
    assert.ok(n <= 2, `chunk ${c}: the failed node was asked ${n} times`);
  }
  assert.deepEqual(
    issues.map((i) => i.chunkIndex).sort(),
    // No chunk reports twice (b holds a data shard in chunks 0 and 1, a parity shard in chunk 2).
    [...new Set(issues.map((i) => i.chunkIndex))].sort(),
    'one issue per chunk',
  );
  assert.ok(issues.length >= 1);
  assert.ok(issues.every((i) => i.shards.length === 1 && i.reason === 'read-failed'));
});

test('each window comes out as one buffer that no later window overwrites; receive buffers are reused', async () => {
  const body = randomBytes(g.chunkSize * 3 + 1234);
  const shards = await stored(body);
  for (const down of [new Set<string>(), new Set(['c'])]) {
    const { calls, record, ctx, receiveBuffers } = setup(body, shards, down);
    const reading = readObject(ctx, record);
    await reading.first;
    // Keep the pieces themselves (no copy): a piece that aliased a reused receive buffer would change.
    const pieces: Buffer[] = [];
    for await (const piece of reading.body) pieces.push(piece);
    assert.ok(Buffer.concat(pieces).equals(body));
    const windows = record.chunks.reduce((n, c) => n + Math.ceil(c.length / (3 * SEGMENT) / WINDOW), 0);
    assert.equal(pieces.length, windows, 'one piece per window');
    assert.ok(
      receiveBuffers.size < calls.length,
      `${receiveBuffers.size} receive buffers for ${calls.length} requests`,
    );
  }
});
