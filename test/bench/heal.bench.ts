// Heal throughput: 1 s3db + 5 appliances (RS(3,2)) as child processes; objects written through a
// gateway backend in this process; one appliance is killed, its data directory wiped, restarted, and
// a `repair` job rebuilds what it held. Foreground GETs (2 at a time) run for a few seconds before the
// kill and all through the repair, so the cost of healing to foreground reads shows. Prints
// `BENCH <name> <value> <unit>`.
// Env: HEAL_BENCH_MB (object data, default 64), HEAL_BENCH_OBJECT_MB (default 4),
// HEAL_BENCH_LIMIT_MBPS (the [maintenance] repair_mb_per_second, default 1000 = effectively none).
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createDistributedBackend } from '../../gateway/backend/distributed/index.ts';
import { gatewayTlsIdentity } from '../../gateway/backend/distributed/index.ts';
import { createJob, getJob, isFinal } from '../../shared/jobs/index.ts';
import { S3dbClient } from '../../shared/s3db-client/index.ts';
import { startHealCluster } from '../integration/maintenance/cluster.ts';

const totalMb = Number(process.env.HEAL_BENCH_MB ?? 64);
const objectMb = Number(process.env.HEAL_BENCH_OBJECT_MB ?? 4);
const limit = Number(process.env.HEAL_BENCH_LIMIT_MBPS ?? 1000);
const MiB = 1024 * 1024;

const cluster = await startHealCluster([
  'job_poll_seconds = 0.2',
  `repair_mb_per_second = ${limit}`,
  'repair_concurrency = 4',
  'compact_interval_seconds = 0',
  'scrub_interval_seconds = 0',
  'orphan_sweep_interval_seconds = 0',
]);
const backend = await createDistributedBackend(cluster.config);
const tls = await gatewayTlsIdentity(cluster.config);
const first = cluster.config.db[0]!;
const db = new S3dbClient({
  nodes: [`127.0.0.1:${first.port}`],
  credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
  caPem: tls.caPem,
});
/** Whole-object GETs of random objects, 2 at a time, until `stop()` is true; MiB/s. */
async function foregroundGets(count: number, stop: () => boolean): Promise<number> {
  const started = Date.now();
  let bytes = 0;
  const reader = async (): Promise<void> => {
    while (!stop()) {
      const result = await backend.getObject('bench', `o/${Math.floor(Math.random() * count)}`);
      for await (const piece of result.body) bytes += piece.length;
    }
  };
  await Promise.all([reader(), reader()]);
  return bytes / MiB / ((Date.now() - started) / 1000);
}

try {
  await backend.createBucket('bench', 'owner', cluster.config.region);
  const count = Math.max(1, Math.round(totalMb / objectMb));
  for (let i = 0; i < count; i++) {
    const body = randomBytes(objectMb * MiB);
    await backend.putObject({
      bucket: 'bench',
      key: `o/${i}`,
      body: (async function* () {
        yield body;
      })(),
      metadata: { contentType: 'application/octet-stream', userMetadata: {} },
    });
  }
  const baselineUntil = Date.now() + 5000;
  const baseline = await foregroundGets(count, () => Date.now() > baselineUntil);
  const victim = cluster.appliances[0]!;
  await victim.kill();
  await rm(cluster.config.nodes[0]!.path, { recursive: true, force: true });
  await victim.start();
  const started = Date.now();
  const job = await createJob(db, 'repair');
  let done = job;
  const during = foregroundGets(count, () => isFinal(done.state));
  for (let i = 0; i < 100_000 && !isFinal(done.state); i++) {
    await new Promise((r) => setTimeout(r, 100));
    done = (await getJob(db, job.id)) ?? done;
  }
  const seconds = (Date.now() - started) / 1000;
  const duringRepair = await during;
  if (done.state !== 'done') throw new Error(`repair job ended ${done.state}: ${done.error ?? ''}`);
  const rebuilt = Number(done.result?.['bytesRebuilt'] ?? 0);
  console.log(`BENCH heal_rebuilt_bytes ${(rebuilt / MiB).toFixed(1)} MiB`);
  console.log(`BENCH heal_rebuild_throughput ${(rebuilt / MiB / seconds).toFixed(1)} MiB/s`);
  console.log(`BENCH heal_sweep_objects ${(count / seconds).toFixed(1)} objects/s`);
  console.log(`BENCH heal_limit ${limit} MiB/s`);
  console.log(`BENCH heal_foreground_get_before ${baseline.toFixed(1)} MiB/s`);
  console.log(`BENCH heal_foreground_get_during ${duringRepair.toFixed(1)} MiB/s`);
  console.log(`BENCH heal_foreground_get_kept ${((100 * duringRepair) / baseline).toFixed(1)} %`);
} finally {
  db.close();
  await backend.close();
  await cluster.stop();
}
