/**
 * Shard transport benchmark (npm run bench:transport). The client (this process) puts and fetches 8 MiB shards
 * (128 segments of 64 KiB) to a shard server in a second process, over TLS/TCP and QUIC, with 1 and 8 concurrent
 * streams. The server's backend keeps one shard's bytes and no others, so the figures are transport + protocol
 * + CRC32C, not the disk. Prints `BENCH <name> <value> <unit>`.
 *
 *   TRANSPORT_BENCH_MIB   data per run for TLS (default 256)
 *   TRANSPORT_BENCH_QUIC_MIB   data per run for QUIC (default 16: the library carries ~1 MB/s)
 *   TRANSPORT_BENCH_KINDS  comma list (default tls,quic)
 *   TRANSPORT_BENCH_OPS    comma list of put, fetch, fetch_into (default all three; fetch = fetchShard without
 *                          `into`: the client receives each shard into a fresh buffer of its own; fetch_into =
 *                          into a reused 8 MiB buffer per stream, as the gateway's GET does with its pooled
 *                          receive buffers; fetch_fresh_into, not by default: into a freshly allocated buffer
 *                          per request);
 *                          TRANSPORT_BENCH_STREAMS  (default 1,8)
 *   TRANSPORT_BENCH_BASELINE=0  skip the bare TLS socket baseline
 *   TRANSPORT_BENCH_RAISE_UDP=0  do not raise net.core.rmem_max/wmem_max (done only when root)
 *   TRANSPORT_BENCH_SERVER_NODE_ARGS / TRANSPORT_BENCH_CLIENT_NODE_ARGS  extra node flags for the server process /
 *                          the client (the bench re-runs itself with them), e.g. '--cpu-prof --cpu-prof-dir=/tmp/p'
 *   PREDASTORE_DIRECT_READ=0  receive through 'data' events instead of reading into the parser's buffers
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import type { ShardBackend } from '../../appliance/shard-server/backend.ts';
import { startShardServer } from '../../appliance/shard-server/server.ts';
import type { WireShardKey } from '../../shared/protocol/messages.ts';
import { ShardClient } from '../../shared/shard-client/index.ts';
import { ensureClusterCertificates, loadTlsIdentity } from '../../shared/tls/index.ts';
import { createTransport } from '../../shared/transport/factory.ts';
import type { TransportKind } from '../../shared/transport/types.ts';

const SEG = 64 * 1024;
const SEGMENTS = 128;
const SHARD = SEG * SEGMENTS;

/** Extra node flags for the server process, e.g. TRANSPORT_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'. */
function serverNodeArgs(): string[] {
  return (process.env.TRANSPORT_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

function bench(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${value.toFixed(value >= 100 ? 0 : 2)} ${unit}`);
}

/** Backend for the benchmark: accepts every put (keeping nothing), serves every fetch from one fixed shard. */
function benchBackend(): ShardBackend {
  const segment = randomBytes(SEG);
  const segments = Array.from({ length: SEGMENTS }, () => segment);
  const lengths = segments.map((s) => s.byteLength);
  return {
    async put() {},
    async stat() {
      return { rsData: 2, rsParity: 1, segmentLengths: lengths };
    },
    async readSegments(_key, first, count) {
      return segments.slice(first, first + count);
    },
    async delete() {
      return false;
    },
    async list() {
      return { entries: [] };
    },
    async stats() {
      const cpu = process.cpuUsage();
      return {
        shardCount: 0,
        liveBytes: 0,
        usedBytes: 0,
        diskTotalBytes: 0,
        diskFreeBytes: 0,
        extra: { cpuMicros: cpu.user + cpu.system, maxRssKiB: process.resourceUsage().maxRSS },
      };
    },
  };
}

async function serve(kind: TransportKind, certDir: string): Promise<void> {
  const server = await startShardServer({
    store: benchBackend(),
    transport: await createTransport(kind),
    tls: await loadTlsIdentity(certDir, 'node-1'),
    limits: { putMemoryBytes: 512 << 20 },
  });
  process.stdout.write(`PORT ${server.port}\n`);
}

/** A bare TLS 1.3 socket that counts what it receives: the ceiling the shard protocol runs under. */
async function serveRawTls(certDir: string): Promise<void> {
  const id = await loadTlsIdentity(certDir, 'node-1');
  const server = tls.createServer(
    {
      key: id.keyPem,
      cert: id.certPem,
      ca: id.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      let n = 0;
      socket.on('data', (c: Buffer) => (n += c.byteLength));
      socket.on('end', () => socket.end(String(n)));
    },
  );
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`),
  );
}

async function measureRawTls(certDir: string, mib: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, 'raw', 'tls', certDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const port = Number(/^PORT (\d+)$/.exec(line)?.[1]);
    const id = await loadTlsIdentity(certDir, 'gateway');
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: id.caPem,
      cert: id.certPem,
      key: id.keyPem,
      servername: 'localhost',
    });
    await once(socket, 'secureConnect');
    const chunk = randomBytes(SEG);
    const total = mib * 1024 * 1024;
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    const ended = once(socket, 'end');
    const started = performance.now();
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!socket.write(chunk)) await once(socket, 'drain');
    }
    socket.end();
    await ended;
    const seconds = (performance.now() - started) / 1000;
    if (Number(reply) !== total) throw new Error(`raw TLS server counted ${reply} of ${total} bytes`);
    bench('transport.tls_raw_socket.c1', total / 1e6 / seconds, 'MB/s');
  } finally {
    child.kill('SIGKILL');
  }
}

/** The port a child announces with a `PORT n` line; other lines (e.g. --trace-gc output) go to stderr. */
async function portOf(stdout: NodeJS.ReadableStream): Promise<number> {
  const lines = createInterface({ input: stdout });
  for await (const line of lines) {
    const port = /^PORT (\d+)$/.exec(line)?.[1];
    if (port !== undefined) {
      lines.on('line', (l) => process.stderr.write(`server: ${l}\n`));
      return Number(port);
    }
    process.stderr.write(`server: ${line}\n`);
  }
  throw new Error('the server exited before announcing its port');
}

async function runPool(
  total: number,
  concurrency: number,
  task: (i: number, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (next < total) await task(next++, slot);
    }),
  );
}

async function measure(kind: TransportKind, certDir: string, mib: number): Promise<void> {
  const child = spawn(
    process.execPath,
    [...serverNodeArgs(), '--import', 'tsx', import.meta.filename, 'serve', kind, certDir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await portOf(child.stdout!);
    const client = new ShardClient({
      transport: await createTransport(kind),
      tls: await loadTlsIdentity(certDir, 'gateway'),
      defaultTimeoutMs: 600_000,
    });
    const peer = { host: '127.0.0.1', port, serverName: 'node-1.predastore.internal' };
    const shards = Math.max(1, Math.round((mib * 1024 * 1024) / SHARD));
    const payload = Array.from({ length: SEGMENTS }, () => randomBytes(SEG));
    const key = (i: number): WireShardKey => ({ versionId: randomBytes(16), chunkIndex: i, shardIndex: 0 });
    // Warm the connection and both code paths.
    await client.putShard(peer, key(0), { rsData: 2, rsParity: 1 }, payload.slice(0, 4));
    await client.fetchShard(peer, key(0), { segmentCount: 4 });
    const streamCounts = (process.env.TRANSPORT_BENCH_STREAMS ?? '1,8').split(',').map(Number);
    const ops = (process.env.TRANSPORT_BENCH_OPS ?? 'put,fetch,fetch_into').split(',') as Array<
      'put' | 'fetch' | 'fetch_into' | 'fetch_fresh_into'
    >;
    // One receive buffer per concurrent fetch, reused: what a gateway pooling its memory would do.
    const intoBuffers = Array.from({ length: 8 }, () => Buffer.allocUnsafeSlow(SHARD));
    for (const concurrency of streamCounts) {
      for (const op of ops) {
        const serverBefore = (await client.stat(peer)).extra?.cpuMicros ?? 0;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await runPool(shards, concurrency, async (i, slot) => {
          if (op === 'put') await client.putShard(peer, key(i), { rsData: 2, rsParity: 1 }, payload);
          else if (op === 'fetch') await client.fetchShard(peer, key(i));
          else if (op === 'fetch_fresh_into')
            await client.fetchShard(peer, key(i), {}, { into: Buffer.allocUnsafe(SHARD) });
          else await client.fetchShard(peer, key(i), {}, { into: intoBuffers[slot]! });
        });
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const serverStats = await client.stat(peer);
        const serverCpu = ((serverStats.extra?.cpuMicros ?? 0) - serverBefore) / 1e6;
        const gib = (shards * SHARD) / 2 ** 30;
        const name = `transport.${kind}.${op}.c${concurrency}`;
        bench(name, (shards * SHARD) / 1e6 / seconds, 'MB/s');
        bench(`${name}.client_cpu`, (cpu.user + cpu.system) / 1e6 / gib, 's/GiB');
        bench(`${name}.server_cpu`, serverCpu / gib, 's/GiB');
      }
    }
    const last = await client.stat(peer);
    bench(`transport.${kind}.client_peak_rss`, process.resourceUsage().maxRSS / 1024, 'MiB');
    bench(`transport.${kind}.server_peak_rss`, (last.extra?.maxRssKiB ?? 0) / 1024, 'MiB');
    await client.close();
  } finally {
    // SIGTERM lets a profiled server write its profile on the way out.
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    child.kill('SIGKILL');
  }
}

function raiseUdpBuffers(): void {
  if (process.env.TRANSPORT_BENCH_RAISE_UDP === '0' || process.getuid?.() !== 0) return;
  for (const k of ['net.core.rmem_max', 'net.core.wmem_max']) {
    const r = spawnSync('sysctl', ['-w', `${k}=16777216`], { encoding: 'utf8' });
    if (r.status !== 0) console.error(`could not raise ${k}: ${r.stderr.trim()}`);
  }
}

/** With TRANSPORT_BENCH_CLIENT_NODE_ARGS, runs this bench again in a child with those node flags; true if it did. */
async function rerunWithClientArgs(): Promise<boolean> {
  const extra = (process.env.TRANSPORT_BENCH_CLIENT_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  if (extra.length === 0 || process.env.TRANSPORT_BENCH_CHILD === '1') return false;
  const child = spawn(
    process.execPath,
    [...extra, '--import', 'tsx', import.meta.filename, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, TRANSPORT_BENCH_CHILD: '1' },
    },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  process.exitCode = code ?? 1;
  return true;
}

async function main(): Promise<void> {
  const [mode, kind, dir] = process.argv.slice(2);
  if (mode === undefined && (await rerunWithClientArgs())) return;
  if (mode === 'serve') {
    process.once('SIGTERM', () => process.exit(0));
    return serve(kind as TransportKind, dir as string);
  }
  if (mode === 'raw') return serveRawTls(dir as string);
  raiseUdpBuffers();
  const certDir = await mkdtemp(join(tmpdir(), 'predastore-bench-transport-'));
  try {
    await ensureClusterCertificates(certDir, ['node-1', 'gateway']);
    const kinds = (process.env.TRANSPORT_BENCH_KINDS ?? 'tls,quic').split(',') as TransportKind[];
    if (kinds.includes('tls') && process.env.TRANSPORT_BENCH_BASELINE !== '0') {
      console.log('# baseline: a bare TLS 1.3 socket between the same two processes, same data size');
      await measureRawTls(certDir, Number(process.env.TRANSPORT_BENCH_MIB ?? 256));
    }
    for (const k of kinds) {
      const mib = Number(
        k === 'quic'
          ? (process.env.TRANSPORT_BENCH_QUIC_MIB ?? 16)
          : (process.env.TRANSPORT_BENCH_MIB ?? 256),
      );
      console.log(`# ${k}: ${mib} MiB per run, 8 MiB shards of 64 KiB segments, server in a second process`);
      await measure(k, certDir, mib);
    }
  } finally {
    await rm(certDir, { recursive: true, force: true });
  }
}

await main();
