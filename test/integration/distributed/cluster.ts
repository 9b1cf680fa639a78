// A real cluster for the distributed backend's tests and benchmark: 3 s3db nodes and 5 appliances,
// each its own `s3d` child process (so any one can be killed with kill -9 and restarted), plus
// helpers for seeded data streams. Ports come from 24000–24999.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';

export const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const S3D = join(ROOT, 'bin', 's3d.mjs');
export const ACCOUNT = { accessKeyId: 'DISTTESTKEY', secretAccessKey: 'distributed-test-secret' };
const DB_KEY = { accessKeyId: 'DISTTESTDB', secretAccessKey: 'distributed-test-db-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePorts(count: number, salt: number): Promise<number[]> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const base = 24000 + ((process.pid * 31 + salt * 97 + attempt * 53) % 38) * 25;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 24000-24999');
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
    // Never outlive the test process, even when it is cut off by a timeout.
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

  /** kill -9 and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }
}

export interface TestCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  dbs: Member[];
  appliances: Member[];
  stop(): Promise<void>;
}

export async function startCluster(salt = 0): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-distributed-'));
  try {
    const ports = await freePorts(11, salt);
    const dbPorts = ports.slice(0, 3);
    const raftPorts = ports.slice(3, 6);
    const nodePorts = ports.slice(6, 11);
    const lines = [`base_path = ${JSON.stringify(join(dir, 'data'))}`, '[rs]', 'data = 3', 'parity = 2'];
    lines.push('[store]', 'volume_size_mb = 64');
    dbPorts.forEach((port, i) =>
      lines.push(
        '[[db]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${port}`,
        `raft_port = ${raftPorts[i]}`,
        `access_key_id = "${DB_KEY.accessKeyId}"`,
        `secret_access_key = "${DB_KEY.secretAccessKey}"`,
      ),
    );
    nodePorts.forEach((port, i) =>
      lines.push('[[nodes]]', `id = ${i + 1}`, 'host = "127.0.0.1"', `port = ${port}`),
    );
    lines.push(
      '[[auth]]',
      `access_key_id = "${ACCOUNT.accessKeyId}"`,
      `secret_access_key = "${ACCOUNT.secretAccessKey}"`,
      'policy = [{ bucket = "*", actions = ["s3:*"] }]',
    );
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    const config = await loadConfig(configPath, { cwd: dir });
    // One process makes every certificate up front, so the members never race to create the CA.
    await ensureClusterCertificates(config.tls.dir, [
      ...config.db.map((d) => `s3db-${d.id}`),
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    const dbs = config.db.map(
      (d) => new Member(`s3db ${d.id}`, ['-config', configPath, '-db', '-db-node', String(d.id)], dir),
    );
    const appliances = config.nodes.map(
      (n) => new Member(`node ${n.id}`, ['-config', configPath, '-node', String(n.id)], dir),
    );
    const all = [...dbs, ...appliances];
    const stop = async (): Promise<void> => {
      await Promise.all(all.map((m) => m.kill()));
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await Promise.all(all.map((m) => m.start()));
    } catch (error) {
      await stop();
      throw error;
    }
    return { dir, configPath, config, dbs, appliances, stop };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

// ---- seeded data -----------------------------------------------------------------------------------

const PIECE = 1 << 20;

function keystream(seed: number, start: number): ReturnType<typeof createCipheriv> {
  const key = createHash('sha256').update(`seed:${seed}`).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  cipher.update(Buffer.alloc(start % 16));
  return cipher;
}

/** Bytes [start, start+length) of the seeded stream. */
export function seededBytes(seed: number, start: number, length: number): Buffer {
  return keystream(seed, start).update(Buffer.alloc(length));
}

/** The seeded stream's first `size` bytes, in 1 MiB pieces (never held whole). */
export async function* seededStream(seed: number, size: number): AsyncGenerator<Buffer> {
  const cipher = keystream(seed, 0);
  const zeros = Buffer.alloc(PIECE);
  for (let done = 0; done < size; done += PIECE)
    yield cipher.update(zeros.subarray(0, Math.min(PIECE, size - done)));
}

export async function md5Of(stream: AsyncIterable<Uint8Array>): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const piece of stream) {
    hash.update(piece);
    size += piece.length;
  }
  return { md5: hash.digest('hex'), size };
}
