// Rebalance and RS-migration throughput on a real cluster (1 s3db + 5 appliances as processes):
// BENCH_MB of objects (8 MiB each, production geometry, RS(2,1)) written on appliances 1-4; appliance
// 5 joins and a rebalance job moves chunks onto it; then migrate-rs re-encodes everything to RS(3,2).
// npm run bench:rebalance   (BENCH_MB=128 by default)
import { randomBytes } from 'node:crypto';
import { createDistributedBackend } from '../../gateway/backend/distributed/index.ts';
import { ensureRing } from '../../shared/cluster/index.ts';
import { migrateRsExecutor, rebalanceExecutor } from '../../appliance/maintenance/rebalance/executors.ts';
import type { RebalanceJobContext } from '../../appliance/maintenance/rebalance/context.ts';
import { startRebalanceCluster } from '../integration/rebalance/cluster.ts';

const MiB = 1024 * 1024;
const totalMb = Number(process.env['BENCH_MB'] ?? 128);
const objectMb = 8;

const cluster = await startRebalanceCluster(5, 5);
try {
  await ensureRing(cluster.db, { ...cluster.config, nodes: cluster.config.nodes.slice(0, 4) });
  const backend = await createDistributedBackend(cluster.config, { ringRefreshMs: 100 });
  await backend.createBucket('bench', 'owner', cluster.config.region);
  const count = Math.max(1, Math.round(totalMb / objectMb));
  for (let i = 0; i < count; i++) {
    const data = randomBytes(objectMb * MiB);
    await backend.putObject({
      bucket: 'bench',
      key: `obj-${i}`,
      body: (async function* () {
        yield data;
      })(),
      expectedSize: data.length,
      metadata: { contentType: 'application/octet-stream', userMetadata: {} },
    } as Parameters<typeof backend.putObject>[0]);
  }
  await backend.close();
  const ctx = (params: RebalanceJobContext['job']['params']): RebalanceJobContext => ({
    job: { id: randomBytes(16).toString('hex'), params: { settleMs: 0, ...params } },
    signal: new AbortController().signal,
    progress: () => undefined,
    db: cluster.db,
    shards: cluster.shards,
    config: cluster.config,
  });
  let started = performance.now();
  const moved = await rebalanceExecutor(ctx({}));
  let seconds = (performance.now() - started) / 1000;
  console.log(
    `BENCH rebalance_moved_bytes_per_s ${(Number(moved['bytes']) / MiB / seconds).toFixed(1)} MiB/s`,
  );
  console.log(`BENCH rebalance_chunks_per_s ${(Number(moved['chunks']) / seconds).toFixed(2)} chunks/s`);
  console.log(`BENCH rebalance_moved_bytes ${(Number(moved['bytes']) / MiB).toFixed(1)} MiB`);
  started = performance.now();
  const migrated = await migrateRsExecutor(ctx({ k: 3, m: 2 }));
  seconds = (performance.now() - started) / 1000;
  console.log(`BENCH migrate_rs_object_bytes_per_s ${((count * objectMb) / seconds).toFixed(1)} MiB/s`);
  console.log(
    `BENCH migrate_rs_written_bytes_per_s ${(Number(migrated['bytes']) / MiB / seconds).toFixed(1)} MiB/s`,
  );
} finally {
  await cluster.stop();
}
