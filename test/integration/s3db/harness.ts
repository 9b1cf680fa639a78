// Starts real s3db node processes (appliance/s3db/main.ts) on 127.0.0.1 for integration tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';

const MAIN = fileURLToPath(new URL('../../../appliance/s3db/main.ts', import.meta.url));
export const CREDENTIALS = { accessKeyId: 'S3DBTEST', secretAccessKey: 'integration-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A block of `count` free ports inside 11000–11999, chosen from `slot` (so test files do not collide). */
export async function freePorts(slot: number, count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 11000 + ((slot + attempt * 7) % 45) * 20;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.map(portFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error('no free port block in 11000-11999');
}

export interface NodeSpec {
  id: number;
  httpPort: number;
  raftPort: number;
}

export class ProcessCluster {
  readonly procs = new Map<number, ChildProcess>();
  readonly specs: NodeSpec[];
  readonly configPath: string;
  caPem = '';

  private constructor(
    readonly dir: string,
    specs: NodeSpec[],
  ) {
    this.specs = specs;
    this.configPath = join(dir, 'cluster.toml');
  }

  /** Writes a config with `ids` as [[db]] members; ports from a free block. */
  static async create(slot: number, ids: number[], extraIds: number[] = []): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 's3db-it-'));
    const all = [...ids, ...extraIds];
    const ports = await freePorts(slot, all.length * 2);
    const specs = all.map((id, i) => ({ id, httpPort: ports[2 * i]!, raftPort: ports[2 * i + 1]! }));
    const c = new ProcessCluster(dir, specs);
    await c.writeConfig(ids);
    const certs = await ensureClusterCertificates(
      join(dir, 'tls'),
      all.map((id) => `s3db-${id}`),
    );
    c.caPem = certs.caPem;
    return c;
  }

  async writeConfig(ids: number[]): Promise<void> {
    const lines = ['[tls]', `dir = ${JSON.stringify(join(this.dir, 'tls'))}`, ''];
    for (const s of this.specs.filter((x) => ids.includes(x.id))) {
      lines.push(
        '[[db]]',
        `id = ${s.id}`,
        'host = "127.0.0.1"',
        `port = ${s.httpPort}`,
        `raft_port = ${s.raftPort}`,
        `path = ${JSON.stringify(join(this.dir, `node-${s.id}`))}`,
        `access_key_id = ${JSON.stringify(CREDENTIALS.accessKeyId)}`,
        `secret_access_key = ${JSON.stringify(CREDENTIALS.secretAccessKey)}`,
        '',
      );
    }
    await writeFile(this.configPath, lines.join('\n'));
  }

  spec(id: number): NodeSpec {
    return this.specs.find((s) => s.id === id)!;
  }

  address(id: number): string {
    return `127.0.0.1:${this.spec(id).httpPort}`;
  }

  /** Starts node `id` as a child process; resolves once it serves. */
  async start(id: number, opts: { join?: boolean; config?: string } = {}): Promise<void> {
    // S3DB_NODE_ARGS: extra node flags for the children (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" for profiles).
    const nodeArgs = (process.env['S3DB_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const args = [
      ...nodeArgs,
      '--import',
      'tsx',
      MAIN,
      '-config',
      opts.config ?? this.configPath,
      '-db-node',
      String(id),
    ];
    if (opts.join) args.push('-join');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.set(id, child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        if (line.startsWith('S3DB_READY')) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`node ${id} exited (${code}) before it was ready: ${stderr}`)),
      );
    });
  }

  kill(id: number): Promise<void> {
    const child = this.procs.get(id);
    this.procs.delete(id);
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  client(ids?: number[], extra: Partial<ConstructorParameters<typeof S3dbClient>[0]> = {}): S3dbClient {
    const nodes = (ids ?? [...this.procs.keys()]).map((id) => this.address(id));
    return new S3dbClient({ nodes, credentials: CREDENTIALS, caPem: this.caPem, ...extra });
  }

  async leaderId(ids = [...this.procs.keys()], timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const id of ids) {
        const c = this.client([id], { retryForMs: 0, attemptTimeoutMs: 1000 });
        try {
          const st = await c.status();
          if (st['role'] === 'leader') return id;
        } catch {
          // not up yet
        } finally {
          c.close();
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no leader');
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
