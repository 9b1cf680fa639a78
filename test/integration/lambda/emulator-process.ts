// Starts the local function URL emulator (gateway/lambda/emulator/main.ts) in a child process, in
// front of the Lambda handler from source or from the bundle, as a GatewayStarter for the S3 suite.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { configToml, makeClient } from '../gateway/harness.ts';
import type { GatewayStarter, StartedGateway } from '../gateway/harness.ts';

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onExit = (code: number | null): void =>
      reject(new Error(`emulator exited with ${code} before listening: ${err}${out}`));
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

export interface EmulatorOptions {
  /** Command and arguments before the emulator's own flags. */
  command: string[];
  cwd?: string;
  extraFlags?: string[];
  env?: Record<string, string>;
  /** An existing cluster config (default: a fresh filesystem-backend config in a temp dir). */
  configPath?: string;
  backend?: 'filesystem' | 'distributed';
}

/** From source: `node --import tsx gateway/lambda/emulator/main.ts -handler gateway/lambda/handler.ts`. */
export const SOURCE_EMULATOR: EmulatorOptions = {
  command: [
    process.execPath,
    '--import',
    'tsx',
    'gateway/lambda/emulator/main.ts',
    '-handler',
    'gateway/lambda/handler.ts',
  ],
};

export async function startEmulatorGateway(
  options: EmulatorOptions,
): Promise<StartedGateway & { dir: string; output(): string }> {
  const dir = await mkdtemp(join(tmpdir(), 'predastore-lambda-'));
  const configPath = options.configPath ?? join(dir, 'config.toml');
  if (options.configPath === undefined) await writeFile(configPath, configToml(join(dir, 'data')));
  const [command, ...args] = options.command as [string, ...string[]];
  const child = spawn(
    command,
    [
      ...args,
      '-config',
      configPath,
      '-port',
      '0',
      '-backend',
      options.backend ?? 'filesystem',
      ...(options.extraFlags ?? []),
    ],
    {
      cwd: options.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      // As for the server: more libuv threads let concurrent PUTs overlap their fsyncs.
      env: {
        ...process.env,
        PREDASTORE_LOG_LEVEL: 'error',
        UV_THREADPOOL_SIZE: '64',
        ...(options.env ?? {}),
      },
    },
  );
  // Everything the function wrote to stdout (its EMF metric lines among it).
  let stdout = '';
  child.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
  let url: string;
  try {
    url = await waitForListening(child);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const clients: S3Client[] = [];
  return {
    url,
    dir,
    output: () => stdout,
    client(account, overrides) {
      const client = makeClient(url, account, overrides?.secretAccessKey);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
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

export const startSourceEmulator: GatewayStarter = () => startEmulatorGateway(SOURCE_EMULATOR);
