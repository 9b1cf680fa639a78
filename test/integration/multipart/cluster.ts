// A distributed target for the multipart suite and benchmark: 3 s3db nodes and 5 appliances as real
// `s3d` processes (RS(3,2)), the gateway in this process, a garbage worker run on demand so the tests
// can check that aborted, replaced, unused and superseded parts leave no shard behind.
// Ports come from 36000–36999. By default chunks are shrunk to 960 KiB (5 stripes) so that 5 MiB parts
// span several chunks and the copy of an object larger than one chunk stays small; `big` keeps
// production chunks (32 MiB) and copies a 33 MiB object instead (slow on a shared 2-core machine).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../../shared/config/index.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import {
  createDistributedBackend,
  gatewayTlsIdentity,
  peersOf,
} from '../../../gateway/backend/distributed/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import { Member } from '../distributed/cluster.ts';
import { ACCOUNTS } from '../gateway/harness.ts';
import type { TestAccount } from '../gateway/harness.ts';
import type { MultipartTarget } from './multipart-behaviour.ts';

const DB_KEY = { accessKeyId: 'MPTESTDB', secretAccessKey: 'multipart-test-db-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 36000 + ((process.pid * 7 + attempt * 13) % 80) * 12;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 36000-36999');
}

function authEntry(a: TestAccount, policy: string): string {
  return `[[auth]]\naccess_key_id = "${a.accessKeyId}"\nsecret_access_key = "${a.secretAccessKey}"\naccount_id = "${a.accountId}"\n${policy}\n`;
}

export async function startDistributedTarget(
  options: { big?: boolean; maxChunkSize?: number } = {},
): Promise<MultipartTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-multipart-'));
  const members: Member[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await Promise.all(members.map((m) => m.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(11);
    const lines = [
      `base_path = ${JSON.stringify(join(dir, 'data'))}`,
      '[rs]',
      'data = 3',
      'parity = 2',
      '[store]',
      'volume_size_mb = 64',
    ];
    for (let i = 0; i < 3; i++)
      lines.push(
        '[[db]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${ports[i]}`,
        `raft_port = ${ports[3 + i]}`,
        `access_key_id = "${DB_KEY.accessKeyId}"`,
        `secret_access_key = "${DB_KEY.secretAccessKey}"`,
      );
    for (let i = 0; i < 5; i++)
      lines.push('[[nodes]]', `id = ${i + 1}`, 'host = "127.0.0.1"', `port = ${ports[6 + i]}`);
    lines.push(
      authEntry(ACCOUNTS.alice, ''),
      authEntry(ACCOUNTS.bob, ''),
      authEntry(
        ACCOUNTS.aliceReadOnly,
        'policy = [{ bucket = "*", actions = ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"] }]',
      ),
    );
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    const config = await loadConfig(configPath, { cwd: dir });
    await ensureClusterCertificates(config.tls.dir, [
      ...config.db.map((d) => `s3db-${d.id}`),
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    members.push(
      ...config.db.map(
        (d) => new Member(`s3db ${d.id}`, ['-config', configPath, '-db', '-db-node', String(d.id)], dir),
      ),
      ...config.nodes.map(
        (n) => new Member(`node ${n.id}`, ['-config', configPath, '-node', String(n.id)], dir),
      ),
    );
    await Promise.all(members.map((m) => m.start()));

    const big = options.big === true;
    const backend = await createDistributedBackend(config, {
      readTimeoutMs: 5000,
      writeTimeoutMs: 20_000,
      ...(big ? {} : { maxChunkSize: options.maxChunkSize ?? 1024 * 1024 }),
    });
    const gateway = await startGatewayServer({
      backend,
      credentials: config.auth,
      port: 0,
      host: '127.0.0.1',
      region: config.region,
      logger: false,
    });
    cleanups.push(() => gateway.close());
    const worker = backend.startGarbageWorker({ idleMs: 100, retryBaseMs: 100 });
    const shards = new ShardClient({
      transport: await createTransport('tls'),
      tls: await gatewayTlsIdentity(config),
    });
    cleanups.push(() => shards.close());
    const clients: S3Client[] = [];
    const client = (a: TestAccount): S3Client => {
      const c = new S3Client({
        endpoint: gateway.url,
        region: config.region,
        forcePathStyle: true,
        credentials: { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
        maxAttempts: 1,
      });
      clients.push(c);
      return c;
    };
    cleanups.push(() => clients.forEach((c) => c.destroy()));
    return {
      url: gateway.url,
      alice: client(ACCOUNTS.alice),
      bob: client(ACCOUNTS.bob),
      aliceReadOnly: client(ACCOUNTS.aliceReadOnly),
      bigCopyBytes: big ? 33 * 1024 * 1024 : 3 * 1024 * 1024 + 5,
      shards: {
        shardsPerChunk: 5,
        chunkBytes: big ? 170 * 3 * 65536 : 5 * 3 * 65536,
        async collect() {
          for (let pass = 0; pass < 200; pass++) {
            if ((await backend.garbageRecords(10)).length === 0) return;
            await worker.runOnce();
          }
          throw new Error('garbage records were left after 200 passes');
        },
        async live() {
          let total = 0;
          for (const peer of peersOf(config).values()) total += (await shards.stat(peer)).shardCount;
          return total;
        },
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
