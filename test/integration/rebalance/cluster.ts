// A small real cluster for the rebalance tests: one s3db node and six appliances, each an `s3d`
// child process (started on demand, so an appliance can join later), RS(2,1) unless told. Ports
// 32000–32999.
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { loadTlsIdentity } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { Member, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';

export { Member };

const DB_KEY = { accessKeyId: 'REBALDB', secretAccessKey: 'rebalance-test-db-secret' };

export interface RebalanceCluster {
  dir: string;
  config: ClusterConfig;
  db: S3dbClient;
  /** A shard client with appliance 1's identity (what the job runner on an appliance would hold). */
  shards: ShardClient;
  appliances: Member[];
  stop(): Promise<void>;
}

/** An s3db client of the first `[[db]]` node and a shard client, both with appliance 1's identity. */
export async function openClusterClients(
  config: ClusterConfig,
): Promise<{ db: S3dbClient; shards: ShardClient }> {
  const identity = await loadTlsIdentity(config.tls.dir, 'node-1');
  const first = config.db[0]!;
  const db = new S3dbClient({
    nodes: [`${first.advertiseHost}:${first.port}`],
    credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
    region: config.region,
    caPem: identity.caPem,
  });
  const shards = new ShardClient({ transport: await createTransport(config.transport.kind), tls: identity });
  return { db, shards };
}

export async function startRebalanceCluster(
  nodes: number,
  startNow: number,
  rs: { data: number; parity: number } = { data: 2, parity: 1 },
): Promise<RebalanceCluster> {
  const cluster = await prepareCluster({
    prefix: 'pd-rebalance-',
    portsFrom: 10000,
    dbs: 1,
    nodes,
    rs,
    dbKey: DB_KEY,
    // The appliances' job runners poll often, so a job created in pd.jobs starts at once.
    sections: [
      '[store]',
      'volume_size_mb = 16',
      '[maintenance]',
      'job_poll_seconds = 0.5',
      'gc_poll_seconds = 0.5',
    ],
    auth: [],
  });
  const { config } = cluster;
  let db: S3dbClient | undefined;
  let shards: ShardClient | undefined;
  const stop = async (): Promise<void> => {
    await shards?.close();
    db?.close();
    await cluster.stop();
  };
  try {
    await startMembers(cluster, [...cluster.dbs, ...cluster.appliances.slice(0, startNow)]);
    ({ db, shards } = await openClusterClients(config));
    return { dir: cluster.dir, config, db, shards, appliances: cluster.appliances, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * PUT through the distributed backend, retried (3 attempts) when it answers a retryable error, as S3
 * clients do: on a machine under heavy load a shard connection can miss its deadline.
 */
export async function putRetrying(
  backend: DistributedBackend,
  bucket: string,
  key: string,
  data: Buffer,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await backend.putObject({
        bucket,
        key,
        body: (async function* () {
          yield data;
        })(),
        expectedSize: data.length,
        metadata: { contentType: 'application/octet-stream', userMetadata: {} },
      } as Parameters<DistributedBackend['putObject']>[0]);
      return;
    } catch (error) {
      if (attempt >= 3 || !/retry/i.test((error as Error).message)) throw error;
    }
  }
}

/** Waits until pd.garbage is empty (the appliances' garbage workers deleted the old shards). */
export async function garbageDrained(db: S3dbClient, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const left = (await db.scan(TABLES.garbage, { limit: 10 })).items.length;
    if (left === 0) return;
    if (Date.now() > until) throw new Error(`garbage records still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
