// Real clusters of `s3d` child processes for the integration tests and benchmarks: a config written
// into a temp directory, the cluster certificates made up front (one process, so members never race
// to create the CA), and one Member per s3db node and appliance, each startable, killable with
// kill -9 and restartable on its own.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../shared/config/index.ts';
import type { ClusterConfig } from '../../shared/config/index.ts';
import { ensureClusterCertificates } from '../../shared/tls/index.ts';

export const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const S3D = join(ROOT, 'bin', 's3d.mjs');

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** `count` consecutive free ports in [from, from + span), picked by process id and `salt`. */
export async function freePorts(count: number, from: number, salt = 0, span = 1000): Promise<number[]> {
  const slots = Math.max(1, Math.floor(span / count));
  for (let attempt = 0; attempt < 60; attempt++) {
    const base = from + ((process.pid * 31 + salt * 97 + attempt * 53) % slots) * count;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error(`no block of ${count} free ports in ${from}-${from + span - 1}`);
}

export class Member {
  child: ChildProcess | undefined;
  output = '';
  constructor(
    readonly role: string,
    private readonly args: string[],
    private readonly cwd: string,
    /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
    private readonly nodeArgs: readonly string[] = [],
  ) {}

  async start(timeoutMs = 120_000): Promise<void> {
    const env = { ...process.env };
    for (const name of ['CONFIG', 'BACKEND', 'NODE', 'DB_ONLY', 'DB_NODE', 'PORT']) delete env[name];
    const child = spawn(process.execPath, [...this.nodeArgs, S3D, ...this.args], {
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

export interface ClusterSpec {
  /** Temp directory name prefix, e.g. 'pd-heal-'. */
  prefix: string;
  /**
   * Start of this suite's port range (1000 ports). Keep it below 32768, where Linux hands out ephemeral ports to
   * outgoing connections (a port seen free can be taken before the member binds it), and clear of the other
   * suites' ranges shifted by 2000: appliances also listen on port + 2000 for metrics unless metrics_port is set.
   * In use: 10000 rebalance, 11000 s3db harness, 14000 multipart, 15000 bucket deletion, 18000 lambda ops,
   * 19000 scale run, 23000 cluster harness, 24000 distributed, 30000 maintenance, 31000 admin.
   */
  portsFrom: number;
  salt?: number;
  dbs: number;
  nodes: number;
  rs: { data: number; parity: number };
  dbKey: { accessKeyId: string; secretAccessKey: string };
  /** TOML lines placed before the [[db]] entries (sections such as [store] or [maintenance]). */
  sections?: string[];
  /** Extra lines of every [[nodes]] entry. */
  nodeLines?: string[];
  /** The [[auth]] entries, as TOML lines. */
  auth: string[];
  /** Extra flags of every appliance process (e.g. -no-gateway). */
  applianceArgs?: string[];
  /** Node flags of every member process (e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']). */
  nodeArgs?: string[];
}

export interface PreparedCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  dbs: Member[];
  appliances: Member[];
  /** Kills every member and removes the directory. */
  stop(): Promise<void>;
}

/** Writes the config and certificates and creates the members, none started yet. */
export async function prepareCluster(spec: ClusterSpec): Promise<PreparedCluster> {
  const dir = await mkdtemp(join(tmpdir(), spec.prefix));
  try {
    const ports = await freePorts(2 * spec.dbs + spec.nodes, spec.portsFrom, spec.salt ?? 0);
    const lines = [
      `base_path = ${JSON.stringify(join(dir, 'data'))}`,
      '[rs]',
      `data = ${spec.rs.data}`,
      `parity = ${spec.rs.parity}`,
      ...(spec.sections ?? []),
    ];
    for (let i = 0; i < spec.dbs; i++)
      lines.push(
        '[[db]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${ports[i]}`,
        `raft_port = ${ports[spec.dbs + i]}`,
        `access_key_id = "${spec.dbKey.accessKeyId}"`,
        `secret_access_key = "${spec.dbKey.secretAccessKey}"`,
      );
    for (let i = 0; i < spec.nodes; i++)
      lines.push(
        '[[nodes]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${ports[2 * spec.dbs + i]}`,
        ...(spec.nodeLines ?? []),
      );
    lines.push(...spec.auth);
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    const config = await loadConfig(configPath, { cwd: dir });
    await ensureClusterCertificates(config.tls.dir, [
      ...config.db.map((d) => `s3db-${d.id}`),
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    const dbs = config.db.map(
      (d) =>
        new Member(
          `s3db ${d.id}`,
          ['-config', configPath, '-db', '-db-node', String(d.id)],
          dir,
          spec.nodeArgs,
        ),
    );
    const appliances = config.nodes.map(
      (n) =>
        new Member(
          `node ${n.id}`,
          ['-config', configPath, '-node', String(n.id), ...(spec.applianceArgs ?? [])],
          dir,
          spec.nodeArgs,
        ),
    );
    const stop = async (): Promise<void> => {
      await Promise.all([...dbs, ...appliances].map((m) => m.kill()));
      await rm(dir, { recursive: true, force: true });
    };
    return { dir, configPath, config, dbs, appliances, stop };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts `members`; on a failure stops the whole cluster and rethrows. */
export async function startMembers(cluster: PreparedCluster, members: Member[]): Promise<void> {
  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** An [[auth]] entry as TOML lines. */
export function authLines(
  key: { accessKeyId: string; secretAccessKey: string; accountId?: string },
  policy?: string,
): string[] {
  return [
    '[[auth]]',
    `access_key_id = "${key.accessKeyId}"`,
    `secret_access_key = "${key.secretAccessKey}"`,
    ...(key.accountId === undefined ? [] : [`account_id = "${key.accountId}"`]),
    ...(policy === undefined ? [] : [`policy = ${policy}`]),
  ];
}
