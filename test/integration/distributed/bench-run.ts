// The distributed half of `npm run bench:s3` (test/bench/s3.bench.ts): a dev cluster of real processes
// (3 s3db, 5 appliances, RS(3,2)), the gateway as a child process, the pinned AWS SDK as client.
// Every phase reports its rate and the CPU time spent by each kind of process (gateway,
// appliances, s3db nodes, this client process), read from /proc, less the background CPU each kind
// burns while idle (measured for BENCH_DIST_IDLE_MS before the phases): the load-independent figures.
// Env: BENCH_DIST_LARGE_MB (256), BENCH_DIST_RSS_MB (2048), BENCH_DIST_SMALL (1000 objects of 4 KiB),
// BENCH_DIST_CONCURRENCY (32), BENCH_DIST_PHASES (comma list of small,small-lean,large,rss,degraded;
// default all; small-lean = the same 4 KiB PUT/GET from test/bench/lean-s3-client.ts instead of the SDK),
// BENCH_DIST_WARMUP (200 small PUT+GETs before the small phases, not measured),
// BENCH_DIST_PROFILE_DIR (gateway runs with --cpu-prof into that directory),
// BENCH_DIST_GATEWAY_OPTIONS (JSON of DistributedBackendOptions for the gateway, for A/B runs),
// BENCH_DIST_GATEWAY_NODE_ARGS (extra node/V8 flags for the gateway, space-separated, e.g. --trace-gc),
// BENCH_DIST_LARGE_WARMUP_MB (0: an unmeasured PUT+GET of that size before the large phases, JIT warm-up),
// BENCH_DIST_LARGE_REPEAT (1: how many times the large PUT+GET pair runs and prints).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ACCOUNT, ROOT, md5Of, seededStream, startCluster } from './cluster.ts';
import type { Member } from './cluster.ts';
import { leanS3Client } from '../../bench/lean-s3-client.ts';

const MiB = 1024 * 1024;

async function procStatus(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0; // a killed member
  }
}

async function sumCpuMs(members: readonly Member[]): Promise<number> {
  let total = 0;
  for (const m of members) total += await cpuMs(m.child?.pid);
  return total;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function inParallel(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

export async function runDistributedBench(
  report: (name: string, value: number, unit: string) => void,
): Promise<void> {
  const largeMb = Number(process.env.BENCH_DIST_LARGE_MB ?? 256);
  const rssMb = Number(process.env.BENCH_DIST_RSS_MB ?? 2048);
  const smallCount = Number(process.env.BENCH_DIST_SMALL ?? 1000);
  const concurrency = Number(process.env.BENCH_DIST_CONCURRENCY ?? 32);
  const phases = new Set((process.env.BENCH_DIST_PHASES ?? 'small,small-lean,large,rss,degraded').split(','));
  const warmup = Number(process.env.BENCH_DIST_WARMUP ?? 200);
  const profileDir = process.env.BENCH_DIST_PROFILE_DIR;
  // Extra node/V8 flags for the gateway only (e.g. --trace-gc); its stdout then goes to our stderr.
  const gatewayNodeArgs = (process.env.BENCH_DIST_GATEWAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const cluster = await startCluster(3);
  const child = spawn(
    process.execPath,
    [
      ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
      ...gatewayNodeArgs,
      '--import',
      'tsx',
      join(ROOT, 'test/integration/distributed/gateway-child.ts'),
      cluster.configPath,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, GATEWAY_CHILD_OPTIONS: process.env.BENCH_DIST_GATEWAY_OPTIONS ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const url = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        if (gatewayNodeArgs.length > 0) process.stderr.write(d);
        out += d.toString();
        const m = /LISTENING (\S+)/.exec(out);
        if (m) done(m[1] as string);
      });
      child.once('exit', (code) => fail(new Error(`gateway exited ${code}`)));
    });
    const pid = child.pid as number;
    const s3 = new S3Client({
      endpoint: url,
      region: cluster.config.region,
      forcePathStyle: true,
      credentials: ACCOUNT,
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const cpuNow = async (): Promise<number[]> => [
      await cpuMs(pid),
      await sumCpuMs(cluster.appliances),
      await sumCpuMs(cluster.dbs),
      selfCpuMs(),
    ];
    // Background CPU (Raft heartbeats, keep-alives, maintenance polls) per ms of wall time, measured
    // while idle: on a loaded machine a phase takes long and this would otherwise dominate per-op CPU.
    const idleMs = Number(process.env.BENCH_DIST_IDLE_MS ?? 3000);
    const idle0 = await cpuNow();
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, idleMs));
    const idle1 = await cpuNow();
    const idleWall = performance.now() - idleT0;
    const background = idle1.map((v, i) => (i === 3 ? 0 : (v - (idle0[i] as number)) / idleWall));
    report('dist_background_gateway_cpu', (background[0] as number) * 1000, 'ms/s');
    report('dist_background_appliances_cpu', (background[1] as number) * 1000, 'ms/s');
    report('dist_background_s3db_cpu', (background[2] as number) * 1000, 'ms/s');
    const phase = async (
      name: string,
      ops: number,
      amount: number,
      unit: string,
      run: () => Promise<void>,
    ): Promise<number> => {
      const before = await cpuNow();
      const t0 = performance.now();
      await run();
      const seconds = (performance.now() - t0) / 1000;
      const after = await cpuNow();
      const [gateway, appliances, s3db, client] = after.map(
        (v, i) => v - (before[i] as number) - (background[i] as number) * seconds * 1000,
      ) as [number, number, number, number];
      report(name, amount / seconds, unit);
      report(`${name}_gateway_cpu`, gateway / ops, 'ms/op');
      report(`${name}_appliances_cpu`, appliances / ops, 'ms/op');
      report(`${name}_s3db_cpu`, s3db / ops, 'ms/op');
      report(`${name}_client_cpu`, client / ops, 'ms/op');
      report(`${name}_wall`, seconds * 1000, 'ms');
      return amount / seconds;
    };
    const putLarge = (key: string, seed: number, size: number): Promise<unknown> =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: key,
          Body: Readable.from(seededStream(seed, size)),
          ContentLength: size,
        }),
      );
    const getLarge = async (key: string, size: number, md5: string): Promise<void> => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
      const back = await md5Of(got.Body as Readable);
      if (back.size !== size || back.md5 !== md5) throw new Error(`${key} read back differs`);
    };

    const small = Buffer.alloc(4096, 7);
    const lean = leanS3Client(url, cluster.config.region, ACCOUNT, concurrency * 2);
    if (phases.has('small') || phases.has('small-lean')) {
      // Warm-up (not measured): connections opened, JIT warm, bucket record cached.
      await inParallel(warmup, concurrency, async (i) => {
        await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `warm/${i}`, Body: small }));
        await s3
          .send(new GetObjectCommand({ Bucket: 'bench', Key: `warm/${i}` }))
          .then((g) => g.Body?.transformToByteArray());
        await lean.put('bench', `warm-lean/${i}`, small);
        await lean.get('bench', `warm-lean/${i}`);
      });
    }
    if (phases.has('small-lean')) {
      await phase('dist_lean_put_4KiB_c32', smallCount, smallCount, 'ops/s', () =>
        inParallel(smallCount, concurrency, (i) => lean.put('bench', `lean/${i}`, small)),
      );
      await phase('dist_lean_get_4KiB_c32', smallCount, smallCount, 'ops/s', () =>
        inParallel(smallCount, concurrency, async (i) => {
          const bytes = await lean.get('bench', `lean/${i}`);
          if (bytes.length !== small.length) throw new Error(`lean/${i} read back differs`);
        }),
      );
    }
    lean.close();
    if (phases.has('small')) {
      await phase('dist_put_4KiB_c32', smallCount, smallCount, 'ops/s', () =>
        inParallel(smallCount, concurrency, async (i) => {
          await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${i}`, Body: small }));
        }),
      );
      await phase('dist_get_4KiB_c32', smallCount, smallCount, 'ops/s', () =>
        inParallel(smallCount, concurrency, async (i) => {
          const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `small/${i}` }));
          const bytes = await got.Body?.transformToByteArray();
          if (bytes?.length !== small.length) throw new Error(`small/${i} read back differs`);
        }),
      );
    }

    const size = largeMb * MiB;
    const md5 = (await md5Of(seededStream(5, size))).md5;
    let healthy = 0;
    const largeWarmupMb = Number(process.env.BENCH_DIST_LARGE_WARMUP_MB ?? 0);
    if ((phases.has('large') || phases.has('degraded')) && largeWarmupMb > 0) {
      // Not measured: the gateway's large-object code compiled (JIT) as in a long-running server.
      const warmSize = largeWarmupMb * MiB;
      const warmMd5 = (await md5Of(seededStream(6, warmSize))).md5;
      await putLarge('large-warmup', 6, warmSize);
      await getLarge('large-warmup', warmSize, warmMd5);
    }
    // BENCH_DIST_LARGE_REPEAT > 1 prints each pair of figures that many times (A/B runs on a noisy machine).
    const largeRepeat = Math.max(1, Number(process.env.BENCH_DIST_LARGE_REPEAT ?? 1));
    for (let r = 0; r < largeRepeat && (phases.has('large') || phases.has('degraded')); r++) {
      await phase(`dist_put_${largeMb}MiB`, 1, size / 1e6, 'MB/s', () =>
        putLarge('large', 5, size).then(() => undefined),
      );
      healthy = await phase(`dist_get_${largeMb}MiB`, 1, size / 1e6, 'MB/s', () =>
        getLarge('large', size, md5),
      );
    }

    if (rssMb > 0 && phases.has('rss')) {
      const before = await procStatus(pid, 'VmHWM');
      await phase(`dist_put_${rssMb}MiB`, 1, (rssMb * MiB) / 1e6, 'MB/s', () =>
        putLarge('huge', 9, rssMb * MiB).then(() => undefined),
      );
      report(`dist_gateway_peak_rss_during_${rssMb}MiB_put`, (await procStatus(pid, 'VmHWM')) / MiB, 'MiB');
      report('dist_gateway_peak_rss_before_it', before / MiB, 'MiB');
    }

    if (phases.has('degraded')) {
      await Promise.all([cluster.appliances[1]!.kill(), cluster.appliances[3]!.kill()]);
      const degraded = await phase(`dist_get_${largeMb}MiB_2_appliances_down`, 1, size / 1e6, 'MB/s', () =>
        getLarge('large', size, md5),
      );
      report('dist_degraded_get_vs_healthy', (100 * degraded) / healthy, '%');
    }
    s3.destroy();
  } finally {
    if (profileDir === undefined) child.kill('SIGKILL');
    else {
      // --cpu-prof writes its profile on a clean exit.
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGINT');
      await exited;
    }
    await cluster.stop();
  }
}
