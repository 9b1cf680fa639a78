/**
 * Shard store benchmarks (npm run bench:store). Prints `BENCH <name> <value> <unit>` lines.
 * STORE_BENCH_DIR picks the disk (default: os.tmpdir()); STORE_BENCH_MB scales the sequential runs.
 * Puts use { copy: false } as the shard server does (its receive buffers stay untouched until put settles);
 * STORE_BENCH_COPY=1 measures the copying put instead. STORE_BENCH_PIECE sets the store's writeBackPieceBytes
 * (default: the store's default, 1 MiB; 0 turns early write-back off) and STORE_BENCH_WRITEBACK_MIN its
 * writeBackMinCommitBytes (default 16 MiB: 1 writer of 8 MiB shards does not use it) for A/B runs.
 *
 * The target compares 8 MiB puts with `dd bs=1M conv=fsync`, which syncs ONCE after the whole run, while every
 * put (or group commit) is durable on its own. `dd bs=8M oflag=dsync` (one sync per 8 MiB, like one writer)
 * is printed beside it for a like-for-like reading; the target line stays the conv=fsync ratio.
 * The load average at the start and end is printed too (`BENCH store.loadavg_*`): ratios taken under load swing.
 *
 * The disk's own floor for one writer is printed too: a plain loop (no store) that appends 8 MiB and fdatasyncs,
 * the least any one-writer store with a sync per put can do (`store.raw_write_fdatasync_8MiB_*`). The 1-writer
 * run is repeated STORE_BENCH_ROUNDS times (default 3), each round with its own dd and floor around it; the
 * per-round ratios, their median and their minimum are printed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardStore } from '../../appliance/store/index.ts';
import type { ShardKey } from '../../appliance/store/index.ts';

const baseDir = process.env.STORE_BENCH_DIR ?? tmpdir();
const seqMiB = Number(process.env.STORE_BENCH_MB ?? 256);
const SHARD = 8 * 1024 * 1024;
const SEG = 64 * 1024;

function bench(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${value.toFixed(value >= 100 ? 0 : 2)} ${unit}`);
}

function key(i: number): ShardKey {
  const versionId = randomBytes(16);
  return { versionId, chunkIndex: i, shardIndex: 0 };
}

function segmentsOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.byteLength; at += SEG)
    out.push(data.subarray(at, Math.min(at + SEG, data.byteLength)));
  return out;
}

const putOptions = { copy: process.env.STORE_BENCH_COPY === '1' };
const storeOptions = {
  ...(process.env.STORE_BENCH_PIECE === undefined
    ? {}
    : { writeBackPieceBytes: Number(process.env.STORE_BENCH_PIECE) }),
  ...(process.env.STORE_BENCH_WRITEBACK_MIN === undefined
    ? {}
    : { writeBackMinCommitBytes: Number(process.env.STORE_BENCH_WRITEBACK_MIN) }),
};

function ddMBps(dir: string, mode: 'conv_fsync' | 'dsync_8M' = 'conv_fsync'): number {
  const file = join(dir, 'dd.bin');
  const start = process.hrtime.bigint();
  const args =
    mode === 'conv_fsync'
      ? ['bs=1M', `count=${seqMiB}`, 'conv=fsync']
      : ['bs=8M', `count=${Math.max(1, Math.floor(seqMiB / 8))}`, 'oflag=dsync'];
  const res = spawnSync('dd', ['if=/dev/zero', `of=${file}`, ...args], {
    stdio: 'ignore',
  });
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  spawnSync('rm', ['-f', file]);
  if (res.status !== 0) throw new Error('dd failed');
  const mib = mode === 'conv_fsync' ? seqMiB : Math.max(1, Math.floor(seqMiB / 8)) * 8;
  return (mib * 1024 * 1024) / 1e6 / secs;
}

/** The floor for one writer: append 8 MiB and fdatasync, one after the other, with no store around it. */
async function rawWriteFdatasyncMBps(dir: string): Promise<number> {
  const file = join(dir, 'raw.bin');
  const data = randomBytes(SHARD);
  const count = Math.max(1, Math.floor((seqMiB * 1024 * 1024) / SHARD));
  const fh = await open(file, 'w');
  const start = process.hrtime.bigint();
  try {
    for (let i = 0; i < count; i++) {
      await fh.write(data, 0, SHARD, i * SHARD);
      await fh.datasync();
    }
  } finally {
    await fh.close();
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await rm(file, { force: true });
  return (count * SHARD) / 1e6 / secs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function sequential(
  dir: string,
  writers: number,
): Promise<{ mbps: number; cpuMsPerPut: number; keys: ShardKey[] }> {
  const store = await ShardStore.open({ path: dir, ...storeOptions });
  const data = randomBytes(SHARD);
  const segments = segmentsOf(data);
  const total = Math.max(writers, Math.floor((seqMiB * 1024 * 1024) / SHARD));
  const keys: ShardKey[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const k = key(next++);
        await store.put(k, { rsData: 4, rsParity: 2 }, segments, putOptions);
        keys.push(k);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  await store.close();
  return { mbps: (total * SHARD) / 1e6 / secs, cpuMsPerPut: (cpu.user + cpu.system) / 1000 / total, keys };
}

async function smallShards(dir: string, concurrency: number, count: number): Promise<number> {
  const store = await ShardStore.open({ path: dir, ...storeOptions });
  const data = randomBytes(4096);
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        await store.put(key(next), { rsData: 4, rsParity: 2 }, [data], putOptions);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await store.close();
  return count / secs;
}

async function randomReads(
  dir: string,
  keys: ShardKey[],
  concurrency: number,
  count: number,
): Promise<{ mbps: number; p99: number; p50: number }> {
  const store = await ShardStore.open({ path: dir, ...storeOptions });
  const segments = SHARD / SEG;
  const latencies: number[] = [];
  let done = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < count) {
        done++;
        const k = keys[Math.floor(Math.random() * keys.length)]!;
        const t0 = process.hrtime.bigint();
        await store.readSegments(k, Math.floor(Math.random() * segments), 1);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await store.close();
  latencies.sort((a, b) => a - b);
  return {
    mbps: (count * SEG) / 1e6 / secs,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

/** 1-minute load average (Linux), -1 where /proc/loadavg does not exist. */
function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return -1;
  }
}

const root = await mkdtemp(join(baseDir, 'predastore-bench-'));
const loadAtStart = loadAverage();
try {
  // The disk is shared with other work: dd runs right before and after each store run, and the store is
  // compared with the mean of the two.
  let many: { keys: ShardKey[] } = { keys: [] };
  const rounds = Math.max(1, Number(process.env.STORE_BENCH_ROUNDS ?? 3));
  for (const writers of [1, 16]) {
    const vsDd: number[] = [];
    const vsRaw: number[] = [];
    const roundsHere = writers === 1 ? rounds : 1;
    for (let round = 1; round <= roundsHere; round++) {
      const suffix = roundsHere > 1 ? `_round${round}` : '';
      const ddBefore = ddMBps(root);
      const dsyncBefore = ddMBps(root, 'dsync_8M');
      const rawBefore = writers === 1 ? await rawWriteFdatasyncMBps(root) : 0;
      const run = await sequential(join(root, `seq${writers}_${round}`), writers);
      const rawAfter = writers === 1 ? await rawWriteFdatasyncMBps(root) : 0;
      const dsyncAfter = ddMBps(root, 'dsync_8M');
      const ddAfter = ddMBps(root);
      const dd = (ddBefore + ddAfter) / 2;
      const dsync = (dsyncBefore + dsyncAfter) / 2;
      bench(`store.dd_1MiB_conv_fsync_around_${writers}_writer${suffix}`, dd, 'MB/s');
      bench(`store.dd_8MiB_oflag_dsync_around_${writers}_writer${suffix}`, dsync, 'MB/s');
      bench(`store.put_8MiB_${writers}_writer${suffix}`, run.mbps, 'MB/s');
      bench(`store.put_8MiB_${writers}_writer_vs_dd${suffix}`, (100 * run.mbps) / dd, '%');
      bench(`store.put_8MiB_${writers}_writer_vs_dd_dsync${suffix}`, (100 * run.mbps) / dsync, '%');
      if (writers === 1) {
        const raw = (rawBefore + rawAfter) / 2;
        bench(`store.raw_write_fdatasync_8MiB_around_1_writer${suffix}`, raw, 'MB/s');
        bench(`store.raw_write_fdatasync_8MiB_vs_dd${suffix}`, (100 * raw) / dd, '%');
        bench(`store.put_8MiB_1_writer_vs_raw${suffix}`, (100 * run.mbps) / raw, '%');
        vsRaw.push((100 * run.mbps) / raw);
      }
      // CPU of this process (main thread, thread pool, kernel page-cache copies) per 8 MiB put: steadier than
      // MB/s on a shared machine.
      bench(`store.put_8MiB_${writers}_writer_cpu${suffix}`, run.cpuMsPerPut, 'ms/put');
      vsDd.push((100 * run.mbps) / dd);
      if (writers === 16) many = run;
      else await rm(join(root, `seq${writers}_${round}`), { recursive: true, force: true });
    }
    if (roundsHere > 1) {
      bench(`store.put_8MiB_${writers}_writer_vs_dd_median`, median(vsDd), '%');
      bench(`store.put_8MiB_${writers}_writer_vs_dd_min`, Math.min(...vsDd), '%');
      bench(`store.put_8MiB_${writers}_writer_vs_raw_median`, median(vsRaw), '%');
    }
  }
  const small = await smallShards(join(root, 'small'), 64, Number(process.env.STORE_BENCH_SMALL ?? 10_000));
  bench('store.put_4KiB_64_concurrent', small, 'shards/s');
  for (const c of [1, 16]) {
    const reads = await randomReads(join(root, 'seq16_1'), many.keys, c, 4000);
    bench(`store.read_64KiB_random_c${c}`, reads.mbps, 'MB/s');
    bench(`store.read_64KiB_random_c${c}_p50`, reads.p50, 'ms');
    bench(`store.read_64KiB_random_c${c}_p99`, reads.p99, 'ms');
  }
  bench('store.loadavg_start', loadAtStart, '1-min');
  bench('store.loadavg_end', loadAverage(), '1-min');
} finally {
  await rm(root, { recursive: true, force: true });
}
