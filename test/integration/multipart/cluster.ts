// A distributed target for the multipart suite and benchmark: 3 s3db nodes and 5 appliances as real
// `s3d` processes (RS(3,2)), the gateway in this process, a garbage worker run on demand so the tests
// can check that aborted, replaced, unused and superseded parts leave no shard behind.
// Ports come from 14000–14999. By default chunks are shrunk to 960 KiB (5 stripes) so that 5 MiB parts
// span several chunks and the copy of an object larger than one chunk stays small; `big` keeps
// production chunks (32 MiB) and copies a 33 MiB object instead (slow on a shared 2-core machine).
import { S3Client } from '@aws-sdk/client-s3';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import {
  createDistributedBackend,
  gatewayTlsIdentity,
  peersOf,
} from '../../../gateway/backend/distributed/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import { authLines, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';
import { ACCOUNTS } from '../gateway/harness.ts';
import type { TestAccount } from '../gateway/harness.ts';
import type { MultipartTarget } from './multipart-behaviour.ts';

const DB_KEY = { accessKeyId: 'MPTESTDB', secretAccessKey: 'multipart-test-db-secret' };

export async function startDistributedTarget(
  options: { big?: boolean; maxChunkSize?: number } = {},
): Promise<MultipartTarget> {
  const cluster = await prepareCluster({
    prefix: 'pd-multipart-',
    portsFrom: 14000,
    dbs: 3,
    nodes: 5,
    rs: { data: 3, parity: 2 },
    dbKey: DB_KEY,
    sections: ['[store]', 'volume_size_mb = 64'],
    auth: [
      ...authLines(ACCOUNTS.alice),
      ...authLines(ACCOUNTS.bob),
      ...authLines(
        ACCOUNTS.aliceReadOnly,
        '[{ bucket = "*", actions = ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"] }]',
      ),
    ],
  });
  const { config } = cluster;
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await cluster.stop();
  };
  try {
    await startMembers(cluster, [...cluster.dbs, ...cluster.appliances]);

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
