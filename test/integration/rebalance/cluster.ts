// A small real cluster for the rebalance tests: one s3db node and six appliances, each an `s3d`
// child process (started on demand, so an appliance can join later), RS(2,1). Ports 32000–32999.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { ensureClusterCertificates, loadTlsIdentity } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';

const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const S3D = join(ROOT, 'bin', 's3d.mjs');
const DB_KEY = { accessKeyId: 'REBALDB', secretAccessKey: 'rebalance-test-db-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const base = 32000 + ((process.pid * 31 + attempt * 53) % 90) * 10;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 32000-32999');
}

export class Member {
  child: ChildProcess | undefined;
  output = '';
  constructor(
    readonly role: string,
    private readonly args: string[],
    private readonly cwd: string,
  ) {}

  async start(timeoutMs = 120_000): Promise<void> {
    const env = { ...process.env };
    for (const name of ['CONFIG', 'BACKEND', 'NODE', 'DB_ONLY', 'DB_NODE', 'PORT']) delete env[name];
    const child = spawn(process.execPath, [S3D, ...this.args], {
      cwd: this.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.output = '';
    const reap = (): void => void child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.role} not ready in ${timeoutMs} ms:\n${this.output}`)),
        timeoutMs,
      );
      const onData = (data: Buffer): void => {
        this.output += data.toString();
        if (/^s3d: ready: /m.test(this.output)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          done();
        }
      };
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        fail(new Error(`${this.role} exited (${code}) before ready:\n${this.output}`));
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }
}

export interface RebalanceCluster {
  dir: string;
  config: ClusterConfig;
  db: S3dbClient;
  /** A shard client with appliance 1's identity (what the job runner on an appliance would hold). */
  shards: ShardClient;
  appliances: Member[];
  stop(): Promise<void>;
}

export async function startRebalanceCluster(nodes: number, startNow: number): Promise<RebalanceCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-rebalance-'));
  const members: Member[] = [];
  let db: S3dbClient | undefined;
  let shards: ShardClient | undefined;
  const stop = async (): Promise<void> => {
    await shards?.close();
    db?.close();
    await Promise.all(members.map((m) => m.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(2 + nodes);
    const lines = [`base_path = ${JSON.stringify(join(dir, 'data'))}`, '[rs]', 'data = 2', 'parity = 1'];
    lines.push('[store]', 'volume_size_mb = 16');
    // The appliances' job runners poll often, so a job created in pd.jobs starts at once.
    lines.push('[maintenance]', 'job_poll_seconds = 0.5');
    lines.push(
      '[[db]]',
      'id = 1',
      'host = "127.0.0.1"',
      `port = ${ports[0]}`,
      `raft_port = ${ports[1]}`,
      `access_key_id = "${DB_KEY.accessKeyId}"`,
      `secret_access_key = "${DB_KEY.secretAccessKey}"`,
    );
    for (let i = 0; i < nodes; i++)
      lines.push('[[nodes]]', `id = ${i + 1}`, 'host = "127.0.0.1"', `port = ${ports[2 + i]}`);
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    const config = await loadConfig(configPath, { cwd: dir });
    await ensureClusterCertificates(config.tls.dir, [
      ...config.db.map((d) => `s3db-${d.id}`),
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    members.push(new Member('s3db 1', ['-config', configPath, '-db', '-db-node', '1'], dir));
    for (const n of config.nodes)
      members.push(new Member(`node ${n.id}`, ['-config', configPath, '-node', String(n.id)], dir));
    await Promise.all(members.slice(0, 1 + startNow).map((m) => m.start()));
    const identity = await loadTlsIdentity(config.tls.dir, 'node-1');
    const first = config.db[0]!;
    db = new S3dbClient({
      nodes: [`${first.advertiseHost}:${first.port}`],
      credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
      region: config.region,
      caPem: identity.caPem,
    });
    shards = new ShardClient({ transport: await createTransport(config.transport.kind), tls: identity });
    return { dir, config, db, shards, appliances: members.slice(1), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
