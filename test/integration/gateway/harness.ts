// Starts a real gateway process for the S3 behaviour suite. The suite is parameterised by a
// `GatewayStarter`, so the same tests run against every backend (filesystem now, distributed later).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

export interface TestAccount {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

/** Account A (full access), account B (another owner) and a read-only key of account A. */
export const ACCOUNTS = {
  alice: {
    accessKeyId: 'AKIDALICE0000000001',
    secretAccessKey: 'alice-secret-0001',
    accountId: '111111111111',
  },
  bob: { accessKeyId: 'AKIDBOB000000000002', secretAccessKey: 'bob-secret-0002', accountId: '222222222222' },
  aliceReadOnly: {
    accessKeyId: 'AKIDALICERO00000003',
    secretAccessKey: 'alice-ro-secret-0003',
    accountId: '111111111111',
  },
} satisfies Record<string, TestAccount>;

export const REGION = 'us-east-1';
/** `[gateway] domain`: requests to `<bucket>.<VHOST_DOMAIN>` are virtual-hosted style. */
export const VHOST_DOMAIN = 's3.predastore.test';

export interface StartedGateway {
  url: string;
  /** An SDK client for `account` (path style, the suite's region). */
  client(account: TestAccount, overrides?: { secretAccessKey?: string }): S3Client;
  stop(): Promise<void>;
}

export type GatewayStarter = () => Promise<StartedGateway>;

export function configToml(basePath: string): string {
  const entry = (a: TestAccount, policy: string): string =>
    `[[auth]]\naccess_key_id = "${a.accessKeyId}"\nsecret_access_key = "${a.secretAccessKey}"\naccount_id = "${a.accountId}"\n${policy}\n`;
  return [
    'version = "1.0"',
    `region = "${REGION}"`,
    `base_path = ${JSON.stringify(basePath)}`,
    '',
    '[gateway]',
    `domain = "${VHOST_DOMAIN}"`,
    '',
    entry(ACCOUNTS.alice, ''),
    entry(ACCOUNTS.bob, ''),
    entry(
      ACCOUNTS.aliceReadOnly,
      'policy = [{ bucket = "*", actions = ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"] }]',
    ),
  ].join('\n');
}

export function makeClient(url: string, account: TestAccount, secretOverride?: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: REGION,
    forcePathStyle: true,
    credentials: {
      accessKeyId: account.accessKeyId,
      secretAccessKey: secretOverride ?? account.secretAccessKey,
    },
    maxAttempts: 1,
  });
}

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onExit = (code: number | null): void =>
      reject(new Error(`gateway exited with ${code} before listening: ${err}${out}`));
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /LISTENING (\S+)/.exec(out);
      if (match !== null) {
        child.off('exit', onExit);
        resolve(match[1] as string);
      }
    });
    child.stderr?.on('data', (data: Buffer) => (err += data.toString()));
    child.once('exit', onExit);
  });
}

export interface GatewayProcess extends StartedGateway {
  pid: number;
  /** Folder holding config.toml and the data folder. */
  dir: string;
  /** kill -9: no chance to clean up or flush. */
  kill9(): Promise<void>;
}

export interface SpawnOptions {
  /** Reuse this folder (config + data) instead of a fresh temp folder. */
  dir?: string;
  tls?: { certPath: string; keyPath: string };
}

/** Runs gateway/server-main.ts (filesystem backend) in a child process. */
export async function spawnFilesystemGateway(options: SpawnOptions = {}): Promise<GatewayProcess> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'predastore-gw-')));
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, configToml(join(dir, 'data')));
  const tlsArgs =
    options.tls === undefined ? [] : ['-tls-cert', options.tls.certPath, '-tls-key', options.tls.keyPath];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'gateway/server-main.ts',
      '-config',
      configPath,
      '-port',
      '0',
      '-log-level',
      'warn',
      ...tlsArgs,
    ],
    // More libuv threads let concurrent PUTs overlap their fsyncs.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, UV_THREADPOOL_SIZE: '64' } },
  );
  let url: string;
  try {
    url = await waitForListening(child);
  } catch (error) {
    child.kill('SIGKILL');
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const clients: S3Client[] = [];
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const destroyClients = (): void => {
    for (const client of clients) client.destroy();
  };
  return {
    url,
    dir,
    pid: child.pid as number,
    client(account, overrides) {
      const client = makeClient(url, account, overrides?.secretAccessKey);
      clients.push(client);
      return client;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
      destroyClients();
    },
    async stop() {
      destroyClients();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The filesystem backend in a child process, with a fresh temp base_path. */
export const startFilesystemGateway: GatewayStarter = () => spawnFilesystemGateway();

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}
