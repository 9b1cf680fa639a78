// The shard server copies PUT bodies into pooled buffers; a buffer must not be reused before the store is done
// with it, even when the request itself gave up earlier (deadline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startShardServer } from '../../../appliance/shard-server/server.ts';
import { segmentLength, type ShardBackend } from '../../../appliance/shard-server/backend.ts';
import { BufferPool } from '../../../appliance/shard-server/buffer-pool.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import { ShardClient, ShardTimeoutError } from '../../../shared/shard-client/index.ts';
import { crc32c } from '../../../shared/checksum/index.ts';

test('buffer pool: exact sizes, bounded idle bytes', () => {
  const pool = new BufferPool(100);
  const a = pool.take(60);
  assert.equal(a.byteLength, 60);
  pool.give(a);
  assert.equal(pool.idle, 60);
  assert.equal(pool.take(60), a);
  assert.notEqual(pool.take(60), a);
  pool.give(a);
  pool.give(Buffer.alloc(60)); // over the idle bound: dropped
  assert.equal(pool.idle, 60);
  assert.equal(pool.take(50).byteLength, 50);
});

test('a PUT that times out keeps its buffer until the store settles', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'predastore-rxbuf-'));
  const certs = await ensureClusterCertificates(dir, ['node-1', 'gateway']);
  const changed: number[] = [];
  const settled: number[] = [];
  let entered = 0;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const backend: ShardBackend = {
    async put(key, _meta, segments) {
      const crc = segments.reduce<number>(
        (c, s) => (s instanceof Uint8Array ? crc32c(s, c) : s.reduce((x, p) => crc32c(p, x), c)),
        0,
      );
      assert.equal(
        segments.reduce((n, s) => n + segmentLength(s), 0),
        8 * 1024,
      );
      entered++;
      if (key.chunkIndex < 100) await gate; // the first PUTs' store work outlives their requests
      const after = segments.reduce<number>(
        (c, s) => (s instanceof Uint8Array ? crc32c(s, c) : s.reduce((x, p) => crc32c(p, x), c)),
        0,
      );
      if (after !== crc) changed.push(key.chunkIndex);
      settled.push(key.chunkIndex);
    },
    stat: () => Promise.reject(new Error('unused')),
    readSegments: () => Promise.reject(new Error('unused')),
    delete: async () => false,
    list: async () => ({ entries: [] }),
    stats: async () => ({ shardCount: 0, liveBytes: 0, usedBytes: 0, diskTotalBytes: 0, diskFreeBytes: 0 }),
  };
  const transport = await createTransport('tls');
  const server = await startShardServer({
    store: backend,
    transport,
    tls: { caPem: certs.caPem, ...certs.nodes['node-1']! },
  });
  const client = new ShardClient({ transport, tls: { caPem: certs.caPem, ...certs.nodes['gateway']! } });
  const peer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
  const meta = { rsData: 2, rsParity: 1 };
  const shard = (i: number) => ({
    key: { versionId: randomBytes(16), chunkIndex: i, shardIndex: 0 },
    segments: [randomBytes(4096), randomBytes(4096)],
  });
  try {
    const late = Array.from({ length: 4 }, (_, i) => shard(i));
    const results = await Promise.allSettled(
      late.map((s) => client.putShard(peer, s.key, meta, s.segments, { timeoutMs: 1500 })),
    );
    for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof ShardTimeoutError);
    assert.equal(entered, 4, 'every PUT reached the store before its deadline');
    // Their requests are over on the server too (deadline), but their store work is still running.
    for (let i = 0; i < 500 && server.inflightRequests > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.inflightRequests, 0);
    assert.equal(settled.length, 0);
    // New PUTs of the same size must get other buffers than the ones the pending stores still read.
    const fresh = Array.from({ length: 4 }, (_, i) => shard(100 + i));
    await Promise.all(fresh.map((s) => client.putShard(peer, s.key, meta, s.segments)));
    openGate();
    for (let i = 0; i < 500 && settled.length < 8; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(settled.length, 8);
    assert.deepEqual(changed, []);
  } finally {
    await client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
