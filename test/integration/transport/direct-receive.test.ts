// The receive path writes segment bytes straight into their destination: the shard server's pooled
// receive buffer (PUT) and one buffer per fetched shard (FETCH). Checked with direct socket reads and with
// 'data' events, and for the pool's bookkeeping: bounded memory never deadlocks, every buffer goes back
// exactly once, and nothing is written into a buffer after it went back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { startShardServer } from '../../../appliance/shard-server/server.ts';
import { BufferPool } from '../../../appliance/shard-server/buffer-pool.ts';
import type { SegmentBytes } from '../../../appliance/shard-server/backend.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import { FramedStream } from '../../../shared/transport/framed-stream.ts';
import { muxReceiveStats } from '../../../shared/transport/mux-session.ts';
import { MuxFrameType, muxHeader } from '../../../shared/transport/mux-codec.ts';
import {
  ShardClient,
  ShardCorruptError,
  ShardTimeoutError,
  type ShardPeer,
} from '../../../shared/shard-client/index.ts';
import { crc32c } from '../../../shared/checksum/index.ts';
import {
  FrameType,
  Op,
  PROTOCOL_VERSION,
  Status,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeSegment,
  encodeSegmentHeader,
} from '../../../shared/protocol/index.ts';
import { MemoryBackend } from './memory-backend.ts';
import { useTestIdentities } from './identities.ts';

const ids = useTestIdentities('predastore-direct-rx-');
const meta = { rsData: 2, rsParity: 1 };
const key = (i: number) => ({ versionId: randomBytes(16), chunkIndex: i, shardIndex: 0 });

/** A pool that never reuses, counts each buffer's returns and remembers its bytes at return time. */
class AuditPool extends BufferPool {
  readonly taken = new Set<Buffer>();
  readonly returns = new Map<Buffer, number>();
  readonly atReturn = new Map<Buffer, Buffer>();
  constructor() {
    super(0);
  }
  override take(size: number): Buffer {
    const b = Buffer.allocUnsafeSlow(size);
    this.taken.add(b);
    return b;
  }
  override give(buffer: Buffer): void {
    this.returns.set(buffer, (this.returns.get(buffer) ?? 0) + 1);
    this.atReturn.set(buffer, Buffer.from(buffer));
  }
}

/** Records whether each stored shard's segments were handed over as subarrays of one buffer. */
class OneBufferBackend extends MemoryBackend {
  contiguous: boolean[] = [];
  override put(
    k: Parameters<MemoryBackend['put']>[0],
    m: Parameters<MemoryBackend['put']>[1],
    segments: SegmentBytes[],
  ) {
    const first = segments[0];
    this.contiguous.push(
      segments.every(
        (s) => s instanceof Uint8Array && first instanceof Uint8Array && s.buffer === first.buffer,
      ),
    );
    return super.put(k, m, segments);
  }
}

async function roundTrips(direct: boolean): Promise<void> {
  const saved = process.env.PREDASTORE_DIRECT_READ;
  process.env.PREDASTORE_DIRECT_READ = direct ? '1' : '0';
  const before = { ...muxReceiveStats };
  const transport = await createTransport('tls');
  const store = new OneBufferBackend();
  const server = await startShardServer({ store, transport, tls: ids.node });
  const client = new ShardClient({ transport, tls: ids.gateway });
  const peer: ShardPeer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
  try {
    const shards = Array.from({ length: 12 }, (_, i) => ({
      key: key(i),
      segments: Array.from({ length: 1 + (i % 5) * 7 }, (_, j) =>
        randomBytes(1 + ((i * 7919 + j * 104_729) % 70_000)),
      ),
    }));
    await Promise.all(shards.map((s) => client.putShard(peer, s.key, meta, s.segments)));
    assert.deepEqual(
      store.contiguous,
      shards.map(() => true),
      'each shard reached the store in one buffer',
    );
    const reused = Buffer.alloc(4 << 20);
    await Promise.all(
      shards.map(async (s, i) => {
        const into = i % 2 === 0 ? Buffer.alloc(4 << 20) : undefined;
        const got = await client.fetchShard(peer, s.key, {}, into ? { into } : {});
        assert.deepEqual(got.segments, s.segments);
        const base = into ?? got.segments[0]!;
        for (const seg of got.segments) assert.equal(seg.buffer, base.buffer, 'one buffer per fetched shard');
        // A range, into a buffer the caller reuses afterwards.
        if (i === 3) {
          const part = await client.fetchShard(
            peer,
            s.key,
            { firstSegment: 1, segmentCount: 2 },
            { into: reused },
          );
          assert.deepEqual(part.segments, s.segments.slice(1, 3));
        }
      }),
    );
    if (direct)
      assert.ok(muxReceiveStats.directSessions >= before.directSessions + 2, 'both ends read directly');
    else
      assert.ok(muxReceiveStats.dataEventSessions >= before.dataEventSessions + 2, "both ends used 'data'");
  } finally {
    if (saved === undefined) delete process.env.PREDASTORE_DIRECT_READ;
    else process.env.PREDASTORE_DIRECT_READ = saved;
    await client.close();
    await server.close();
  }
}

test('PUT and FETCH land each shard in one buffer: direct socket reads', () => roundTrips(true));
test("PUT and FETCH land each shard in one buffer: 'data' events", () => roundTrips(false));

test('more concurrent PUTs than the PUT memory holds wait their turn and all finish', async () => {
  const transport = await createTransport('tls');
  const store = new MemoryBackend();
  store.delayMs = 20;
  const shardBytes = 256 * 1024;
  const server = await startShardServer({
    store,
    transport,
    tls: ids.node,
    limits: { putMemoryBytes: 3 * shardBytes, maxShardBytes: shardBytes },
  });
  const client = new ShardClient({ transport, tls: ids.gateway, defaultTimeoutMs: 20_000 });
  const peer: ShardPeer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
  try {
    const segments = [randomBytes(shardBytes / 2), randomBytes(shardBytes / 2)];
    const puts = Array.from({ length: 16 }, (_, i) => client.putShard(peer, key(i), meta, segments));
    await Promise.all(puts);
    assert.equal(store.putCalls, 16);
  } finally {
    await client.close();
    await server.close();
  }
});

test('failed and aborted PUTs give their buffer back exactly once, and it is not written afterwards', async () => {
  const transport = await createTransport('tls');
  const store = new MemoryBackend();
  const pool = new AuditPool();
  const server = await startShardServer({ store, transport, tls: ids.node, receiveBuffers: pool });
  const client = new ShardClient({ transport, tls: ids.gateway, defaultTimeoutMs: 10_000 });
  const peer: ShardPeer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
  const seg = 64 * 1024;
  try {
    // 1. The client aborts a streamed PUT half way.
    const put = client.openPut(peer, key(1), meta, { segmentCount: 8, totalBytes: 8 * seg });
    await put.write(randomBytes(seg));
    await put.write(randomBytes(seg));
    put.abort(new Error('caller gave up'));
    await assert.rejects(put.finish());
    // 2. A segment whose CRC is wrong, with more body behind it on the same stream.
    const conn = await transport.connect({
      host: '127.0.0.1',
      port: server.port,
      tls: ids.gateway,
      serverName: 'localhost',
    });
    const framed = new FramedStream(await conn.openStream());
    const body = { op: Op.PUT_SHARD, key: key(2), ...meta, segmentCount: 4, totalBytes: 4 * seg } as const;
    await framed.write(encodeRequest({ version: PROTOCOL_VERSION, deadlineMs: 5000, body }));
    const bytes = randomBytes(seg);
    await framed.write(encodeSegment(0, crc32c(bytes), bytes));
    await framed.write(encodeSegment(1, crc32c(bytes) ^ 1, bytes));
    const answer = await framed.next();
    assert.equal(answer?.type, FrameType.RESPONSE);
    assert.equal(decodeResponse(answer!.payload).status, Status.CORRUPT);
    // The sender goes on writing segments the server no longer wants: they must not land in the old buffer.
    await framed.write(encodeSegment(2, crc32c(bytes), bytes)).catch(() => undefined);
    await framed.write(encodeSegment(3, crc32c(bytes), bytes)).catch(() => undefined);
    framed.abort();
    await conn.close();
    // 3. Good PUTs and a corrupt fetch on the same connection afterwards.
    const good = Array.from({ length: 4 }, (_, i) => ({
      key: key(10 + i),
      segments: [randomBytes(seg), randomBytes(seg)],
    }));
    await Promise.all(good.map((g) => client.putShard(peer, g.key, meta, g.segments)));
    store.corrupt.add(MemoryBackend.keyString(good[0]!.key));
    await assert.rejects(
      client.fetchShard(peer, good[0]!.key),
      (e) => e instanceof ShardCorruptError || e instanceof Error,
    );
    for (let i = 0; i < 500 && server.inflightRequests > 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 200 && pool.returns.size < pool.taken.size; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(pool.taken.size, 6, 'two failed PUTs and four good ones took a buffer each');
    for (const b of pool.taken) {
      assert.equal(pool.returns.get(b), 1, 'returned exactly once');
      assert.deepEqual(b, pool.atReturn.get(b), 'not written after it was returned');
    }
  } finally {
    await client.close();
    await server.close();
  }
});

test('a fetch that gives up mid-segment never writes into its `into` buffer afterwards', async () => {
  // A hand-written appliance: answers the FETCH, sends part of one mux DATA frame holding a 64 KiB segment,
  // and sends the rest only after the client's fetch has timed out and the test has refilled `into`.
  // The client's socket read aimed at `into` at the time of the timeout must be redirected.
  const data = randomBytes(64 * 1024);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let restSent!: () => void;
  const rest = new Promise<void>((resolve) => (restSent = resolve));
  const server = tls.createServer(
    {
      key: ids.node.keyPem,
      cert: ids.node.certPem,
      ca: ids.node.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['predastore-shard/1'],
    },
    (socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        const response = encodeResponse({
          status: Status.OK,
          body: { op: Op.FETCH_SHARD, totalLength: data.length, firstSegment: 0, segmentCount: 1 },
        });
        const segmentHeader = encodeSegmentHeader(0, crc32c(data), data.length);
        socket.write(Buffer.concat([muxHeader(1, MuxFrameType.DATA, response.length), response]));
        socket.write(muxHeader(1, MuxFrameType.DATA, segmentHeader.length + data.length));
        socket.write(segmentHeader);
        socket.write(data.subarray(0, 20_000));
        void released.then(() => socket.write(data.subarray(20_000), () => restSent()));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = new ShardClient({ transport: await createTransport('tls'), tls: ids.gateway });
  try {
    const into = Buffer.alloc(data.length);
    await assert.rejects(
      client.fetchShard(
        { host: '127.0.0.1', port, serverName: 'node-1.predastore.internal' },
        key(1),
        {},
        { into, timeoutMs: 400 },
      ),
      ShardTimeoutError,
    );
    assert.deepEqual(into.subarray(0, 20_000), data.subarray(0, 20_000), 'the first bytes went straight in');
    into.fill(7);
    release();
    await rest;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      into.every((b) => b === 7),
      'nothing written into `into` after the fetch settled',
    );
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
