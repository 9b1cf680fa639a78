// An appliance process (shard server over the real shard store) served over each transport with mutual TLS;
// an acknowledged put survives kill -9.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import type { TransportKind } from '../../../shared/transport/types.ts';
import { ShardClient, ShardNotFoundError, type ShardPeer } from '../../../shared/shard-client/index.ts';

const KINDS: TransportKind[] = (process.env.PREDASTORE_TEST_TRANSPORTS?.split(',') as TransportKind[]) ?? [
  'tls',
  'quic',
];
const MAIN = join(import.meta.dirname, '../../../appliance/shard-server/main.ts');

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'predastore-appliance-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function startAppliance(
  kind: TransportKind,
  storeDir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '-store', storeDir, '-certs', join(root, 'certs'), '-transport', kind],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const port = Number(/^PORT (\d+)$/.exec(line)?.[1]);
  assert.ok(port > 0, `appliance printed ${line}`);
  return { child, port };
}

for (const kind of KINDS) {
  describe(`appliance process over ${kind}`, () => {
    test(
      kind === 'tls'
        ? 'serves the real shard store; an acknowledged put survives kill -9'
        : 'serves the real shard store',
      async () => {
        const certs = await ensureClusterCertificates(join(root, 'certs'), ['node-1', 'gateway']);
        const client = new ShardClient({
          transport: await createTransport(kind),
          tls: { caPem: certs.caPem, ...certs.nodes['gateway']! },
          defaultTimeoutMs: 15_000,
        });
        const storeDir = join(root, `store-${kind}`);
        let app = await startAppliance(kind, storeDir);
        try {
          const peer = (port: number): ShardPeer => ({
            host: '127.0.0.1',
            port,
            serverName: 'node-1.predastore.internal',
          });
          const key = { versionId: randomBytes(16), chunkIndex: 2, shardIndex: 4 };
          const segments = [randomBytes(65536), randomBytes(65536), randomBytes(5000)];
          await client.putShard(peer(app.port), key, { rsData: 3, rsParity: 2 }, segments);
          const part = await client.fetchShard(peer(app.port), key, { firstSegment: 1, segmentCount: 2 });
          assert.ok(Buffer.concat(part.segments).equals(Buffer.concat(segments.slice(1))));
          const info = await client.shardStat(peer(app.port), key);
          assert.equal(info.segmentCount, 3);
          assert.equal(info.rsData, 3);
          const listed = await client.list(peer(app.port), { limit: 10 });
          assert.equal(listed.entries.length, 1);
          const stats = await client.stat(peer(app.port));
          assert.equal(stats.shardCount, 1);
          assert.ok(stats.diskTotalBytes > 0);

          // Durability across kill -9 is the store's; one transport is enough to show the server acknowledges
          // only what the store has synced (the restart costs seconds of process start-up per transport).
          if (kind === 'tls') {
            app.child.kill('SIGKILL');
            await once(app.child, 'exit');
            app = await startAppliance(kind, storeDir);
          }
          const again = await client.fetchShard(peer(app.port), key);
          assert.ok(Buffer.concat(again.segments).equals(Buffer.concat(segments)));
          assert.equal(await client.deleteShard(peer(app.port), key), true);
          await assert.rejects(client.fetchShard(peer(app.port), key), ShardNotFoundError);
        } finally {
          app.child.kill('SIGKILL');
          await client.close();
        }
      },
    );
  });
}
