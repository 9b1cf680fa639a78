// Issue #9's scale test: add 2 appliances to a 5-appliance RS(3,2) cluster holding 5 000 objects,
// rebalance under reader loops (no read may fail), check every placement and every object, then
// re-encode everything RS(3,2) → RS(4,2) (SCALE_MIGRATE=0 skips it). Exits 1 on any failure.
//   npm run test:scale            (= node --import tsx test/soak/rebalance-scale.ts)
//   SCALE_OBJECTS=5000 SCALE_CONCURRENCY=16 SCALE_MIGRATE=1
import { readFileSync } from 'node:fs';
import { runScaleScenario } from '../integration/rebalance/scale-scenario.ts';

const objects = Number(process.env['SCALE_OBJECTS'] ?? 5000);
const concurrency = Number(process.env['SCALE_CONCURRENCY'] ?? 16);
const migrate = process.env['SCALE_MIGRATE'] !== '0';
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (line: string): void => console.log(`${new Date().toISOString()} [load ${load()}] ${line}`);

// SCALE_PROFILE_DIR=/tmp/x: the cluster's processes run with --cpu-prof and write profiles there.
const profileDir = process.env['SCALE_PROFILE_DIR'];
const nodeArgs = profileDir === undefined ? undefined : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];

try {
  const r = await runScaleScenario({
    objects,
    concurrency,
    migrate,
    log,
    idleSampleMs: 5000,
    ...(nodeArgs === undefined ? {} : { nodeArgs }),
  });
  const MiB = 2 ** 20;
  console.log(`BENCH scale_objects ${r.objects} objects`);
  console.log(`BENCH scale_object_data ${(r.objectBytes / MiB).toFixed(1)} MiB`);
  console.log(`BENCH scale_load_objects_per_s ${(r.objects / r.loadSeconds).toFixed(1)} objects/s`);
  console.log(`BENCH scale_rebalance_seconds ${r.rebalance.seconds.toFixed(1)} s`);
  console.log(
    `BENCH scale_rebalance_chunks_per_s ${(r.rebalance.units / r.rebalance.seconds).toFixed(1)} chunks/s`,
  );
  console.log(
    `BENCH scale_rebalance_objects_per_s ${(r.objects / r.rebalance.seconds).toFixed(1)} objects/s`,
  );
  console.log(
    `BENCH scale_rebalance_moved_mib_per_s ${(r.rebalance.bytes / MiB / r.rebalance.seconds).toFixed(2)} MiB/s`,
  );
  console.log(`BENCH scale_rebalance_moved ${(r.rebalance.bytes / MiB).toFixed(1)} MiB`);
  const cpu = (name: string, c: { s3db: number; appliances: number; client: number }, units: number): void =>
    console.log(
      `BENCH ${name} s3db ${((c.s3db / units) * 1000).toFixed(2)} appliances ${((c.appliances / units) * 1000).toFixed(2)} client ${((c.client / units) * 1000).toFixed(2)} CPU-ms`,
    );
  cpu('scale_rebalance_cpu_ms_per_chunk', r.rebalance.cpu, r.rebalance.units);
  if (r.migrate !== undefined) {
    cpu('scale_migrate_rs_cpu_ms_per_object', r.migrate.cpu, r.migrate.units);
    console.log(`BENCH scale_migrate_rs_seconds ${r.migrate.seconds.toFixed(1)} s`);
    console.log(
      `BENCH scale_migrate_rs_objects_per_s ${(r.migrate.units / r.migrate.seconds).toFixed(1)} objects/s`,
    );
    console.log(
      `BENCH scale_migrate_rs_object_mib_per_s ${(r.objectBytes / MiB / r.migrate.seconds).toFixed(2)} MiB/s`,
    );
  }
  console.log(`BENCH scale_reads_during_jobs ${r.reads} reads`);
  console.log(`BENCH scale_total_seconds ${r.totalSeconds.toFixed(1)} s`);
  log('scale test passed');
} catch (error) {
  log(`scale test FAILED: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
}
