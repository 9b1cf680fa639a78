// Request ids travel from the shard client's options to the shard server's request context.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  startShardServer,
  type ShardRequestContext,
  type ShardRequestOutcome,
  type ShardServer,
} from '../../../appliance/shard-server/server.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import { ShardClient, ShardClientError, type ShardPeer } from '../../../shared/shard-client/index.ts';
import { MemoryBackend } from './memory-backend.ts';

let certDir: string;
let server: ShardServer;
let client: ShardClient;
let peer: ShardPeer;
let backend: MemoryBackend;
const done: Array<{ context: ShardRequestContext; outcome: ShardRequestOutcome }> = [];
const errors: Array<ShardRequestContext> = [];

before(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'predastore-reqid-'));
  const certs = await ensureClusterCertificates(certDir, ['node-1', 'gateway']);
  const transport = await createTransport('tls');
  backend = new MemoryBackend();
  server = await startShardServer({
    store: backend,
    transport,
    tls: { caPem: certs.caPem, ...certs.nodes['node-1']! },
    onRequestDone: (context, outcome) => done.push({ context: { ...context }, outcome }),
    onError: (_err, context) => errors.push({ ...context }),
  });
  peer = { host: '127.0.0.1', port: server.port, serverName: 'node-1.predastore.internal' };
  client = new ShardClient({ transport, tls: { caPem: certs.caPem, ...certs.nodes['gateway']! } });
});

after(async () => {
  await client.close();
  await server.close();
  await rm(certDir, { recursive: true, force: true });
});

/** The server reports a request after answering it; wait for the report rather than sleeping. */
async function reportFor(requestId: string | undefined, op: string) {
  for (let i = 0; i < 200; i++) {
    const hit = done.find((d) => d.context.requestId === requestId && d.context.op === op);
    if (hit) return hit;
    await new Promise<void>((r) => setImmediate(r));
  }
  assert.fail(`no report for ${op} ${requestId}`);
}

test('every op carries the request id to the server context', async () => {
  const key = { versionId: randomBytes(16), chunkIndex: 0, shardIndex: 1 };
  const meta = { rsData: 2, rsParity: 1 };
  await client.putShard(peer, key, meta, [randomBytes(1000)], { requestId: 'put-1' });
  await client.fetchShard(peer, key, {}, { requestId: 'fetch-1' });
  await client.shardStat(peer, key, { requestId: 'sstat-1' });
  await client.stat(peer, { requestId: 'stat-1' });
  await client.list(peer, {}, { requestId: 'list-1' });
  assert.equal(await client.deleteShard(peer, key, { requestId: 'del-1' }), true);
  const expected: Array<[string, string]> = [
    ['put-1', 'PUT_SHARD'],
    ['fetch-1', 'FETCH_SHARD'],
    ['sstat-1', 'SHARD_STAT'],
    ['stat-1', 'STAT'],
    ['list-1', 'LIST'],
    ['del-1', 'DELETE_SHARD'],
  ];
  for (const [id, op] of expected) {
    const r = await reportFor(id, op);
    assert.equal(r.outcome.status, 'OK');
    assert.ok(r.outcome.durationMs >= 0);
  }
});

test('failures are reported with their id and status; requests without an id have none', async () => {
  const missing = { versionId: randomBytes(16), chunkIndex: 0, shardIndex: 0 };
  await assert.rejects(client.fetchShard(peer, missing, {}, { requestId: 'miss-1' }));
  assert.equal((await reportFor('miss-1', 'FETCH_SHARD')).outcome.status, 'NOT_FOUND');
  await client.stat(peer);
  const plain = await reportFor(undefined, 'STAT');
  assert.equal('requestId' in plain.context, false);
});

test('an internal failure reaches onError with the request id', async () => {
  const key = { versionId: randomBytes(16), chunkIndex: 0, shardIndex: 0 };
  const original = backend.put.bind(backend);
  backend.put = () => Promise.reject(new Error('disk on fire'));
  try {
    await assert.rejects(
      client.putShard(peer, key, { rsData: 1, rsParity: 0 }, [randomBytes(10)], { requestId: 'boom-1' }),
    );
  } finally {
    backend.put = original;
  }
  assert.equal((await reportFor('boom-1', 'PUT_SHARD')).outcome.status, 'INTERNAL');
  assert.ok(errors.some((c) => c.requestId === 'boom-1' && c.op === 'PUT_SHARD'));
});

test('an invalid request id is refused by the client before anything is sent', async () => {
  await assert.rejects(
    client.stat(peer, { requestId: 'has a space' }),
    (e: unknown) => e instanceof ShardClientError && e.code === 'BAD_REQUEST',
  );
});
