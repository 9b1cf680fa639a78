// s3db benchmark: 256-byte puts through the REST API to a 3-node loopback cluster of real processes, at
// concurrency 1 / 16 / 64 / 256 (ops/s, p50, p99); 256-byte gets at concurrency 1 / 16 / 64, linearizable
// (ReadIndex) and stale (local); and the time from kill -9 of the leader to the first accepted write. With
// BENCH_ETCD=1 (default when etcd is installed or installable with apt) the same load runs against a 3-node
// etcd 3.4 cluster (v3 JSON gateway over plain HTTP; gets: linearizable and serializable ranges) side by side.
// Run: npm run bench:s3db   (BENCH_SECONDS=N per level, default 5; BENCH_LEVELS, BENCH_READ_LEVELS;
// BENCH_ONLY=s3db|etcd; BENCH_WARMUP_S / BENCH_WARMUP_PUTS: unmeasured c16 puts first, both systems; the two
// clusters run side by side and each level runs on s3db, then on etcd right after). Each level also prints
// the CPU per operation of the three server processes together (`server_cpu`, from /proc) and of the load
// generator (`client_cpu`): unlike ops/s, these hardly depend on what else runs on the machine.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster } from '../integration/s3db/harness.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const LEVELS = (process.env['BENCH_LEVELS'] ?? '1,16,64,256').split(',').map(Number);
const READ_LEVELS = (process.env['BENCH_READ_LEVELS'] ?? '1,16,64').split(',').map(Number);
const ONLY = process.env['BENCH_ONLY'] ?? '';
/**
 * Unmeasured c16 puts sent to each system before its first measured level (both systems alike): at least
 * BENCH_WARMUP_S seconds (default 3) and BENCH_WARMUP_PUTS puts (default 5000), at most 60 s. A fresh Node
 * process runs its hot paths in V8's baseline tiers for its first few thousand requests (inline-cache misses,
 * TurboFan compiling on the request path: measured ~1.5x the CPU of a warm process per c1 put), while etcd is
 * compiled ahead of time; the levels measure warm servers, as a long-running deployment is. 0 and 0: cold.
 */
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_S'] ?? 3);
const WARMUP_PUTS = Number(process.env['BENCH_WARMUP_PUTS'] ?? 5000);
const WARMUP_MAX_SECONDS = 60;
/** Keys written before the read runs (reads pick among them). */
const READ_KEYS = 256;
const VALUE = new Uint8Array(256).fill(0x61);

function bench(name: string, value: number | string, unit: string): void {
  console.log(`BENCH ${name} ${value} ${unit}`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU time (user + system, ms) of a process so far, from /proc (0 when it is gone). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** One system under test: its server processes (for CPU per operation) and its operations. */
interface System {
  label: 's3db' | 'etcd';
  pids: () => (number | undefined)[];
  put: (key: string) => Promise<void>;
  /** Writes the READ_KEYS keys the read levels read. */
  prepareReads: () => Promise<void>;
  /** Reads key number `n % READ_KEYS` (linearizable, or stale / serializable). */
  get: (n: number, stale: boolean) => Promise<void>;
  close: () => Promise<void>;
}

async function runLoad(
  sys: System,
  concurrency: number,
  op: string,
  call: (key: string) => Promise<void>,
): Promise<void> {
  const label = sys.label;
  const latencies: number[] = [];
  let n = 0;
  let errors = 0;
  // Warm-up: one connection per worker (TLS handshakes) and JIT, outside the measured window.
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: concurrency }, (_, w) =>
        call(`warm-${concurrency}-${round}-${w}`).catch(() => {}),
      ),
    );
  }
  const pids = sys.pids();
  const serverBefore = pids.map(processCpuMs);
  const clientBefore = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        try {
          await call(`c${concurrency}-w${w}-${i}`);
          latencies.push(performance.now() - t);
          n++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const serverMs = pids.reduce((sum: number, pid, i) => sum + processCpuMs(pid) - serverBefore[i]!, 0);
  const client = process.cpuUsage(clientBefore);
  latencies.sort((a, b) => a - b);
  bench(`${label}.${op}.c${concurrency}.ops`, (n / elapsed).toFixed(0), 'ops/s');
  bench(`${label}.${op}.c${concurrency}.p50`, percentile(latencies, 50).toFixed(2), 'ms');
  bench(`${label}.${op}.c${concurrency}.p99`, percentile(latencies, 99).toFixed(2), 'ms');
  if (n > 0) {
    // CPU per operation of the three server processes together and of this (client) process.
    bench(`${label}.${op}.c${concurrency}.server_cpu`, (serverMs / n).toFixed(3), 'ms/op');
    bench(
      `${label}.${op}.c${concurrency}.client_cpu`,
      ((client.user + client.system) / 1000 / n).toFixed(3),
      'ms/op',
    );
  }
  if (errors > 0) bench(`${label}.${op}.c${concurrency}.errors`, errors, 'count');
}

/** Unmeasured puts at concurrency 16 (see WARMUP_SECONDS). */
async function warmUp(sys: System): Promise<void> {
  if (WARMUP_SECONDS <= 0 && WARMUP_PUTS <= 0) return;
  const start = performance.now();
  const minEnd = start + WARMUP_SECONDS * 1000;
  const maxEnd = start + WARMUP_MAX_SECONDS * 1000;
  let n = 0;
  const more = (): boolean => {
    const now = performance.now();
    return now < maxEnd && (now < minEnd || n < WARMUP_PUTS);
  };
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; more(); i++) {
        await sys.put(`warmup-w${w}-${i}`).catch(() => {});
        n++;
      }
    }),
  );
  bench(`${sys.label}.warmup_puts`, n, 'count');
  bench(`${sys.label}.warmup_seconds`, ((performance.now() - start) / 1000).toFixed(1), 's');
}

async function openS3db(): Promise<System & { failover: () => Promise<void> }> {
  const cluster = await ProcessCluster.create(process.pid, [1, 2, 3]);
  try {
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    await cluster.leaderId();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  const client = cluster.client([1, 2, 3], { maxSockets: 512 });
  const put = async (key: string): Promise<void> => {
    await client.put('bench', key, VALUE);
  };
  return {
    label: 's3db',
    pids: () => [1, 2, 3].map((id) => cluster.procs.get(id)?.pid),
    put,
    prepareReads: async () => {
      for (let i = 0; i < READ_KEYS; i++) await client.put('read', `r${i}`, VALUE);
    },
    get: async (n, stale) => {
      const v = await client.get('read', `r${n % READ_KEYS}`, { stale });
      if (!v) throw new Error('missing key');
    },
    // Failover: kill -9 the leader while one writer keeps writing; time to the first write accepted after it.
    failover: async () => {
      const leader = await cluster.leaderId();
      let stop = false;
      let killedAt = 0;
      let firstAfter = 0;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const t = Date.now();
          try {
            await client.put('failover', `k${i}`, VALUE);
            if (killedAt && t >= killedAt && !firstAfter) firstAfter = Date.now();
          } catch {
            // retried by the next iteration
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      killedAt = Date.now();
      await cluster.kill(leader);
      while (!firstAfter && Date.now() - killedAt < 30_000) await new Promise((r) => setTimeout(r, 5));
      stop = true;
      await writer;
      bench('s3db.failover.first_write_after_leader_kill', firstAfter ? firstAfter - killedAt : 'none', 'ms');
    },
    close: async () => {
      client.close();
      await cluster.destroy();
    },
  };
}

function haveEtcd(): boolean {
  if (spawnSync('etcd', ['--version']).status === 0) return true;
  if (process.env['BENCH_ETCD'] === '0') return false;
  console.error('installing etcd-server with apt for the side-by-side figures...');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 && spawnSync('etcd', ['--version']).status === 0;
}

async function openEtcd(): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-bench-'));
  const base = 34900 + (process.pid % 10) * 6;
  const names = ['e1', 'e2', 'e3'];
  const peer = (i: number): string => `http://127.0.0.1:${base + 2 * i + 1}`;
  const clientUrl = (i: number): string => `http://127.0.0.1:${base + 2 * i}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const procs: ChildProcess[] = names.map((n, i) =>
    spawn(
      'etcd',
      [
        '--name',
        n,
        '--data-dir',
        join(dir, n),
        '--listen-client-urls',
        clientUrl(i),
        '--advertise-client-urls',
        clientUrl(i),
        '--listen-peer-urls',
        peer(i),
        '--initial-advertise-peer-urls',
        peer(i),
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    ),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const close = async (): Promise<void> => {
    agent.destroy();
    for (const p of procs) p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  const post = (i: number, path: string, body: unknown, check?: (json: string) => boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const data = Buffer.from(JSON.stringify(body));
      const req = http.request(
        `${clientUrl(i)}${path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': data.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (check && !check(Buffer.concat(chunks).toString())) reject(new Error('unexpected answer'));
            else resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  let up = false;
  for (let i = 0; i < 200 && !up; i++) {
    try {
      up = (await post(0, '/v3/kv/put', { key: Buffer.from('ping').toString('base64'), value: '' })) === 200;
    } catch {
      // not up yet
    }
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) {
    await close();
    throw new Error('etcd did not start');
  }
  const value = Buffer.from(VALUE).toString('base64');
  let next = 0;
  const put = async (key: string): Promise<void> => {
    const status = await post(next++ % 3, '/v3/kv/put', { key: Buffer.from(key).toString('base64'), value });
    if (status !== 200) throw new Error(`etcd ${status}`);
  };
  return {
    label: 'etcd',
    pids: () => procs.map((p) => p.pid),
    put,
    prepareReads: async () => {
      for (let i = 0; i < READ_KEYS; i++) {
        await post(0, '/v3/kv/put', { key: Buffer.from(`r${i}`).toString('base64'), value });
      }
    },
    get: async (n, serializable) => {
      const status = await post(
        n % 3,
        '/v3/kv/range',
        { key: Buffer.from(`r${n % READ_KEYS}`).toString('base64'), serializable },
        (json) => json.includes('"kvs"'),
      );
      if (status !== 200) throw new Error(`etcd ${status}`);
    },
    close,
  };
}

// Both clusters run side by side and every level is measured on s3db and then on etcd right after, so both
// see the same machine load (on a shared machine the load drifts within minutes).
console.log(`# s3db bench ${new Date().toISOString()}, ${SECONDS}s per level`);
const systems: System[] = [];
let s3db: Awaited<ReturnType<typeof openS3db>> | undefined;
try {
  if (ONLY !== 'etcd') {
    s3db = await openS3db();
    systems.push(s3db);
  }
  if (ONLY === 's3db') console.log('# etcd skipped (BENCH_ONLY=s3db)');
  else if (process.env['BENCH_ETCD'] === '0') console.log('# etcd skipped (BENCH_ETCD=0)');
  else if (haveEtcd()) systems.push(await openEtcd());
  else console.log('# etcd not available: side-by-side figures skipped');
  for (const sys of systems) await warmUp(sys);
  for (const c of LEVELS) for (const sys of systems) await runLoad(sys, c, 'put256', sys.put);
  for (const sys of systems) await sys.prepareReads();
  for (const stale of [false, true]) {
    for (const c of READ_LEVELS) {
      for (const sys of systems) {
        let next = 0;
        await runLoad(sys, c, stale ? 'get256stale' : 'get256', () => sys.get(next++, stale));
      }
    }
  }
  if (s3db) await s3db.failover();
} finally {
  for (const sys of systems) await sys.close();
}
