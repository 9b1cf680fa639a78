// The streamed PUT path against an in-memory shard client: every shard holds exactly the segments
// the collecting path would write, buffers reused by the encoder never leak into sent segments,
// failed shards become repairs, and below the write quorum the PUT fails with a 503.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import { HashRing } from '../../../shared/ring/index.ts';
import { makeGeometry } from '../../../shared/datapath/index.ts';
import type { DataPathContext } from '../../../gateway/backend/distributed/context.ts';
import { writeObject } from '../../../gateway/backend/distributed/object-writer.ts';
import type { AttemptedChunks } from '../../../gateway/backend/distributed/object-writer.ts';
import { SegmentChannel } from '../../../shared/shard-client/segment-channel.ts';
import { S3Error } from '../../../gateway/errors.ts';

type Stored = Map<string, Buffer[]>;

/** A shard client in memory: openPut (streamed) and putShard (collected) store the same way. */
function fakeShards(options: { failNodes?: Set<string>; failAfter?: number } = {}): {
  client: unknown;
  stored: Stored;
} {
  const stored: Stored = new Map();
  const name = (peer: { host: string; port: number }, key: { chunkIndex: number; shardIndex: number }) =>
    `${peer.port}/${key.chunkIndex}/${key.shardIndex}`;
  const client = {
    openPut(
      peer: { host: string; port: number },
      key: { chunkIndex: number; shardIndex: number },
      _meta: unknown,
      shape: { segmentCount: number; totalBytes: number },
    ) {
      const got: Buffer[] = [];
      let failed: Error | undefined;
      const fails = options.failNodes?.has(String(peer.port));
      return {
        write: async (segment: Uint8Array) => {
          if (failed) throw failed;
          if (fails && got.length >= (options.failAfter ?? 0)) {
            failed = new Error(`appliance ${peer.port} went away`);
            throw failed;
          }
          got.push(Buffer.from(segment)); // what went on the wire at this moment
          await new Promise((r) => setImmediate(r));
        },
        finish: async () => {
          if (failed) throw failed;
          const bytes = got.reduce((n, b) => n + b.length, 0);
          assert.equal(got.length, shape.segmentCount);
          assert.equal(bytes, shape.totalBytes);
          stored.set(name(peer, key), got);
        },
        abort: (reason?: Error) => {
          failed ??= reason ?? new Error('aborted');
        },
      };
    },
    async putShard(
      peer: { host: string; port: number },
      key: { chunkIndex: number; shardIndex: number },
      _meta: unknown,
      segments: Uint8Array[],
    ) {
      if (options.failNodes?.has(String(peer.port))) throw new Error('down');
      stored.set(
        name(peer, key),
        segments.map((s) => Buffer.from(s)),
      );
    },
  };
  return { client, stored };
}

function context(shards: unknown, streamShards: boolean): DataPathContext {
  const scheme = { k: 3, m: 2 };
  const nodes = ['1', '2', '3', '4', '5'];
  return {
    shards: shards as DataPathContext['shards'],
    ring: new HashRing({ nodes, epoch: 0, vnodesPerNode: 16 }),
    peers: new Map(nodes.map((n) => [n, { host: '127.0.0.1', port: Number(n) }])),
    geometry: makeGeometry(scheme, { segmentSize: 64, maxChunkSize: 64 * 3 * 5 }),
    codec: new ReedSolomonCodec(scheme),
    maxChunksInFlight: 2,
    writeTimeoutMs: 1000,
    readTimeoutMs: 1000,
    minBytesPerMs: 1,
    streamShards,
  };
}

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function put(ctx: DataPathContext, body: Buffer, attempted: AttemptedChunks = []) {
  return writeObject(
    ctx,
    {
      bucket: 'b',
      key: 'k',
      versionId: Buffer.alloc(16, 1),
      body: pieces(body, 100),
      expectedSize: body.length,
    },
    attempted,
  );
}

describe('streamed shard PUT', () => {
  it('stores exactly what the collecting path stores, for sizes across stripes and chunks', async () => {
    for (const size of [1, 191, 192, 193, 960, 961, 3000]) {
      const body = randomBytes(size);
      const streamed = fakeShards();
      const collected = fakeShards();
      const a = await put(context(streamed.client, true), body);
      const b = await put(context(collected.client, false), body);
      assert.deepEqual(a.chunks, b.chunks, `size ${size}`);
      assert.deepEqual(a.md5, createHash('md5').update(body).digest());
      assert.deepEqual(a.repairs, []);
      assert.equal(streamed.stored.size, a.chunks.length * 5);
      assert.deepEqual(streamed.stored, collected.stored, `size ${size}`);
    }
  });

  it('a shard that fails mid-stream becomes a repair; the PUT still succeeds at quorum', async () => {
    const { client, stored } = fakeShards({ failNodes: new Set(['3']), failAfter: 2 });
    const attempted: AttemptedChunks = [];
    const body = randomBytes(2000);
    const written = await put(context(client, true), body, attempted);
    // Node 3 fails after its 2nd segment: a repair in every chunk of more than 2 stripes it holds.
    const expectedRepairs = written.chunks.flatMap((c, i) => {
      const j = c.nodes.indexOf('3');
      return j < 0 || Math.ceil(c.length / 192) <= 2 ? [] : [{ chunkIndex: i, shards: [j] }];
    });
    assert.ok(expectedRepairs.length > 0);
    assert.deepEqual(written.repairs, expectedRepairs);
    assert.equal(stored.size, written.chunks.length * 5 - expectedRepairs.length);
    assert.equal(attempted.length, written.chunks.length);
  });

  it('below the write quorum the PUT fails with 503 and reports what it attempted', async () => {
    const { client } = fakeShards({ failNodes: new Set(['2', '4']), failAfter: 1 });
    const attempted: AttemptedChunks = [];
    await assert.rejects(put(context(client, true), randomBytes(3000), attempted), (e: unknown) => {
      assert.ok(e instanceof S3Error);
      assert.equal(e.status, 503);
      return true;
    });
    assert.ok(attempted.length >= 1);
  });

  it('a body shorter than declared fails as IncompleteBody; the unfinished chunk stores nothing', async () => {
    const { client, stored } = fakeShards();
    const body = randomBytes(1000);
    await assert.rejects(
      writeObject(
        context(client, true),
        { bucket: 'b', key: 'k', versionId: Buffer.alloc(16), body: pieces(body, 100), expectedSize: 1500 },
        [],
      ),
      (e: unknown) => e instanceof S3Error && e.code === 'IncompleteBody',
    );
    // Chunk 0 (960 bytes) was complete and durable (the caller turns it into garbage); chunk 1 is not.
    assert.deepEqual(
      [...stored.keys()].map((name) => name.split('/')[1]),
      ['0', '0', '0', '0', '0'],
    );
  });
});

describe('SegmentChannel', () => {
  it('hands segments over in order and acknowledges each when the consumer is done with it', async () => {
    const channel = new SegmentChannel();
    const acks: number[] = [];
    const pushes = [0, 1, 2].map((i) => channel.push(Buffer.from([i])).then(() => acks.push(i)));
    channel.close();
    const seen: number[] = [];
    for (let item = await channel.take(); item !== null; item = await channel.take()) {
      seen.push(item.segment[0] as number);
      item.written();
    }
    await Promise.all(pushes);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.deepEqual(acks, [0, 1, 2]);
  });

  it('a failure rejects queued and taken segments and later pushes', async () => {
    const channel = new SegmentChannel();
    const first = channel.push(Buffer.from([1]));
    const second = channel.push(Buffer.from([2]));
    const taken = await channel.take();
    assert.ok(taken !== null);
    channel.fail(new Error('gone'));
    await assert.rejects(first, /gone/);
    await assert.rejects(second, /gone/);
    await assert.rejects(channel.push(Buffer.from([3])), /gone/);
    assert.equal(await channel.take(), null);
  });
});
