import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { startShardServer, type ShardServer } from '../../../appliance/shard-server/server.ts';
import {
  ensureClusterCertificates,
  createCertificateAuthority,
  issueCertificate,
} from '../../../shared/tls/index.ts';
import type { TlsIdentity } from '../../../shared/tls/cluster-certs.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import { FramedStream } from '../../../shared/transport/framed-stream.ts';
import type { Transport, TransportKind } from '../../../shared/transport/types.ts';
import {
  ShardClient,
  ShardNotFoundError,
  ShardCorruptError,
  ShardTimeoutError,
  ShardCancelledError,
  ShardClientError,
  type ShardPeer,
} from '../../../shared/shard-client/index.ts';
import {
  FrameType,
  Op,
  PROTOCOL_VERSION,
  Status,
  decodeError,
  decodeResponse,
  encodeRequest,
  type WireShardKey,
} from '../../../shared/protocol/index.ts';
import { MemoryBackend } from './memory-backend.ts';

const KINDS: TransportKind[] = (process.env.PREDASTORE_TEST_TRANSPORTS?.split(',') as TransportKind[]) ?? [
  'tls',
];

function key(chunkIndex = 0, shardIndex = 0): WireShardKey {
  return { versionId: randomBytes(16), chunkIndex, shardIndex };
}

function segmentsOf(count: number, size = 64 * 1024): Buffer[] {
  return Array.from({ length: count }, () => randomBytes(size));
}

let certDir: string;
let ids: { node: TlsIdentity; gateway: TlsIdentity };

before(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'predastore-transport-'));
  const certs = await ensureClusterCertificates(certDir, ['node-1', 'gateway']);
  ids = {
    node: { caPem: certs.caPem, ...certs.nodes['node-1']! },
    gateway: { caPem: certs.caPem, ...certs.nodes['gateway']! },
  };
});

after(async () => {
  await rm(certDir, { recursive: true, force: true });
});

for (const kind of KINDS) {
  describe(`shard protocol over ${kind}`, () => {
    let transport: Transport;
    let backend: MemoryBackend;
    let server: ShardServer;
    let client: ShardClient;
    let peer: ShardPeer;

    before(async () => {
      transport = await createTransport(kind);
      backend = new MemoryBackend();
      server = await startShardServer({
        store: backend,
        transport,
        tls: ids.node,
        limits: { putMemoryBytes: 256 * 1024, fetchBatchSegments: 4 },
      });
      peer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
      client = new ShardClient({ transport, tls: ids.gateway, defaultTimeoutMs: 10_000 });
    });

    after(async () => {
      await client.close();
      await server.close();
    });

    test('put, full and partial fetch, shard stat, delete', async () => {
      const k = key(3, 1);
      const SEG = 16 * 1024;
      const segs = [...segmentsOf(9, SEG), randomBytes(1000)];
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segs);
      const all = await client.fetchShard(peer, k);
      assert.equal(all.segments.length, 10);
      assert.ok(Buffer.concat(all.segments).equals(Buffer.concat(segs)));
      assert.equal(all.totalLength, 9 * SEG + 1000);
      const part = await client.fetchShard(peer, k, { firstSegment: 7, segmentCount: 2 });
      assert.equal(part.firstSegment, 7);
      assert.ok(Buffer.concat(part.segments).equals(Buffer.concat(segs.slice(7, 9))));
      const tail = await client.fetchShard(peer, k, { firstSegment: 8 });
      assert.equal(tail.segments.length, 2);
      assert.equal(tail.totalLength, SEG + 1000);
      const info = await client.shardStat(peer, k);
      assert.deepEqual(
        { ...info, key: undefined },
        { key: undefined, rsData: 2, rsParity: 1, segmentCount: 10, length: 9 * SEG + 1000 },
      );
      assert.equal(await client.deleteShard(peer, k), true);
      assert.equal(await client.deleteShard(peer, k), false);
      await assert.rejects(client.fetchShard(peer, k), ShardNotFoundError);
      await assert.rejects(client.fetchShard(peer, key(), { firstSegment: 0 }), ShardNotFoundError);
    });

    test('a fetch can land in a caller-provided buffer', async () => {
      const k = key(4, 2);
      const segs = [...segmentsOf(3, 20_000), randomBytes(777)];
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segs);
      const into = Buffer.alloc(70_000, 0xee);
      const got = await client.fetchShard(peer, k, { firstSegment: 1 }, { into });
      assert.ok(Buffer.concat(got.segments).equals(Buffer.concat(segs.slice(1))));
      for (const s of got.segments) assert.equal(s.buffer, into.buffer, 'segments are views of `into`');
      assert.ok(into.subarray(0, 40_777).equals(Buffer.concat(segs.slice(1))));
      assert.equal(into[40_777], 0xee);
      // Too small for the range: allocated as usual, `into` untouched.
      const small = Buffer.alloc(100, 1);
      const whole = await client.fetchShard(peer, k, {}, { into: small });
      assert.ok(Buffer.concat(whole.segments).equals(Buffer.concat(segs)));
      assert.ok(small.equals(Buffer.alloc(100, 1)));
    });

    test('a fetch past the last segment is a bad request', async () => {
      const k = key();
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segmentsOf(2, 100));
      await assert.rejects(
        client.fetchShard(peer, k, { firstSegment: 5 }),
        (e: unknown) => e instanceof ShardClientError && e.code === 'BAD_REQUEST',
      );
    });

    test('stat and paged list', async () => {
      const keys = [key(), key(), key()];
      for (const k of keys) await client.putShard(peer, k, { rsData: 3, rsParity: 2 }, segmentsOf(1, 10));
      const stats = await client.stat(peer);
      assert.ok(stats.shardCount >= 3);
      assert.ok(stats.uptimeSeconds >= 0);
      const seen: string[] = [];
      let after: WireShardKey | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await client.list(peer, { limit: 2, ...(after ? { after } : {}) });
        assert.ok(page.entries.length <= 2);
        seen.push(...page.entries.map((e) => MemoryBackend.keyString(e.key)));
        if (!page.nextAfter) break;
        after = page.nextAfter;
      }
      assert.equal(seen.length, backend.shards.size);
      for (const k of keys) assert.ok(seen.includes(MemoryBackend.keyString(k)));
    });

    test('many concurrent streams on one connection', async () => {
      // QUIC: 8 streams — the library's per-packet cost makes 24 at once starve its own event loop on a loaded
      // machine, so that even its idle timeout fires (docs/transport.md).
      const work = Array.from({ length: kind === 'quic' ? 8 : 24 }, async (_, i) => {
        const k = key(i);
        const segs = segmentsOf(3, 2000 + i);
        await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segs);
        const got = await client.fetchShard(peer, k);
        assert.ok(Buffer.concat(got.segments).equals(Buffer.concat(segs)));
      });
      await Promise.all(work);
    });

    test('corrupt data on the appliance is a typed error', async () => {
      const k = key();
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segmentsOf(2, 100));
      backend.corrupt.add(MemoryBackend.keyString(k));
      await assert.rejects(client.fetchShard(peer, k), ShardCorruptError);
    });

    test('puts beyond the memory budget wait (backpressure) and all complete', async () => {
      backend.delayMs = 30;
      let current = 0;
      let peak = 0;
      const realPut = backend.put.bind(backend);
      backend.put = async (...args) => {
        current++;
        peak = Math.max(peak, current);
        try {
          await realPut(...args);
        } finally {
          current--;
        }
      };
      try {
        // 6 puts of 512 KiB against a 1 MiB budget: at most 2 are held by the server at once.
        await Promise.all(
          Array.from({ length: 6 }, () =>
            client.putShard(peer, key(), { rsData: 2, rsParity: 1 }, segmentsOf(8, 16384)),
          ),
        );
        assert.ok(peak <= 2, `peak concurrent puts ${peak}`);
      } finally {
        backend.delayMs = 0;
        backend.put = realPut;
      }
    });

    test('per-request timeout and cancellation', async () => {
      const k = key();
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segmentsOf(1, 10));
      backend.delayMs = 1500;
      try {
        const started = Date.now();
        await assert.rejects(client.fetchShard(peer, k, {}, { timeoutMs: 200 }), ShardTimeoutError);
        assert.ok(Date.now() - started < 1400);
        const ac = new AbortController();
        const p = client.fetchShard(peer, k, {}, { signal: ac.signal });
        setTimeout(() => ac.abort(), 50);
        await assert.rejects(p, ShardCancelledError);
      } finally {
        backend.delayMs = 0;
      }
      // The connection is still good afterwards.
      assert.equal((await client.fetchShard(peer, k)).segments.length, 1);
    });

    test('garbage and truncated frames get an error on their stream; other streams go on', async () => {
      const k = key();
      const segs = segmentsOf(6, 8192);
      await client.putShard(peer, k, { rsData: 2, rsParity: 1 }, segs);
      const conn = await transport.connect({
        host: '127.0.0.1',
        port: server.port,
        tls: ids.gateway,
        serverName: 'localhost',
      });
      try {
        const good = new FramedStream(await conn.openStream());
        const garbage = new FramedStream(await conn.openStream());
        const truncated = new FramedStream(await conn.openStream());
        await good.write(
          encodeRequest({
            version: PROTOCOL_VERSION,
            deadlineMs: 5000,
            body: { op: Op.FETCH_SHARD, key: k, firstSegment: 0, segmentCount: 0 },
          }),
        );
        // Read only the response header, keep the rest of the body pending while the bad streams are handled.
        await good.end();
        const header = await good.next();
        assert.equal(header?.type, FrameType.RESPONSE);
        assert.equal(decodeResponse(header!.payload).status, Status.OK);

        await garbage.write(Buffer.from([0x66, 0x00, 0x00, 0x00, 0x03, 1, 2, 3]));
        const errFrame = await garbage.next();
        assert.equal(errFrame?.type, FrameType.ERROR);
        assert.equal(decodeError(errFrame!.payload).status, Status.BAD_REQUEST);

        const req = encodeRequest({
          version: PROTOCOL_VERSION,
          deadlineMs: 5000,
          body: { op: Op.SHARD_STAT, key: k },
        });
        await truncated.write(req.subarray(0, req.length - 3));
        await truncated.end();
        const errFrame2 = await truncated.next();
        assert.equal(errFrame2?.type, FrameType.ERROR);
        assert.match(decodeError(errFrame2!.payload).message, /ended inside a frame/);

        let bytes = 0;
        for (let f = await good.next(); f && f.type === FrameType.SEGMENT; f = await good.next())
          bytes += f.payload.length - 8;
        assert.equal(bytes, 6 * 8192);
        // The connection still carries new requests.
        assert.equal((await client.shardStat(peer, k)).segmentCount, 6);
      } finally {
        await conn.close();
      }
    });

    test('a client without a cluster certificate is refused', async () => {
      const stranger = await issueCertificate(await createCertificateAuthority(), { name: 'gateway' });
      const rogue = new ShardClient({
        transport,
        tls: { caPem: ids.gateway.caPem, certPem: stranger.certPem, keyPem: stranger.keyPem },
        defaultTimeoutMs: 3000,
        connectTimeoutMs: 2000,
      });
      try {
        await assert.rejects(
          rogue.stat(peer),
          (e: unknown) => e instanceof ShardClientError && e.code !== 'TIMEOUT',
        );
      } finally {
        await rogue.close();
      }
    });

    test('an appliance killed mid-stream fails the request within the deadline', async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixture-server.ts'), kind, certDir, '200'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const lines = createInterface({ input: child.stdout! });
        const [line] = (await once(lines, 'line')) as [string];
        const port = Number(/^PORT (\d+)$/.exec(line)?.[1]);
        const remote: ShardPeer = { host: '127.0.0.1', port, serverName: 'localhost' };
        const k = key();
        // 64 segments read 16 at a time with a 200 ms delay per read: the fetch takes ~1 s.
        await client.putShard(remote, k, { rsData: 2, rsParity: 1 }, segmentsOf(64, 4096));
        const started = Date.now();
        const fetching = client.fetchShard(remote, k, {}, { timeoutMs: 8000 });
        setTimeout(() => child.kill('SIGKILL'), 300);
        await assert.rejects(
          fetching,
          (e: unknown) => e instanceof ShardClientError && e.code === 'CONNECTION_LOST',
        );
        assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started} ms`);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
}
