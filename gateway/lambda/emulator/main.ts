// `npm run lambda:local -- -config FILE -port P [-host H] [-backend distributed|filesystem] [-handler MODULE]`
// Serves S3 through the Lambda function URL handler (by default the bundle next to this file,
// dist/lambda/index.mjs), against the appliances and s3db of FILE, which must already run.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENV } from '../settings.ts';
import { startFunctionUrlEmulator } from './server.ts';
import { installLocalRuntime } from './streaming-runtime.ts';

const USAGE =
  'usage: lambda-local -config FILE [-port P] [-host 127.0.0.1] [-backend distributed|filesystem] [-handler MODULE] [-buffered]';

interface Flags {
  config: string;
  port: number;
  host: string;
  backend: string;
  handler: string;
  buffered: boolean;
}

function parseFlags(argv: readonly string[]): Flags {
  const values = new Map<string, string>();
  let buffered = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] as string).replace(/^--?/, '');
    if (flag === 'buffered') {
      buffered = true;
      continue;
    }
    const value = argv[i + 1];
    if (!['config', 'port', 'host', 'backend', 'handler'].includes(flag) || value === undefined)
      throw new Error(`unknown flag or missing value: ${argv[i]}\n${USAGE}`);
    values.set(flag, value);
    i++;
  }
  const config = values.get('config');
  if (config === undefined) throw new Error(`-config is required\n${USAGE}`);
  const port = Number(values.get('port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`-port must be 0..65535`);
  return {
    config: resolve(config),
    port,
    host: values.get('host') ?? '127.0.0.1',
    backend: values.get('backend') ?? 'distributed',
    handler: values.get('handler') ?? new URL('./index.mjs', import.meta.url).href,
    buffered,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  process.env[ENV.configFile] = flags.config;
  process.env[ENV.backend] = flags.backend;
  if (!flags.buffered) installLocalRuntime();
  const specifier = /^[a-z]+:/.test(flags.handler)
    ? flags.handler
    : pathToFileURL(resolve(flags.handler)).href;
  const module = (await import(specifier)) as { handler?: unknown; shutdown?: () => Promise<void> };
  const emulator = await startFunctionUrlEmulator({
    handler: module.handler,
    port: flags.port,
    host: flags.host,
  });
  process.stdout.write(`LISTENING ${emulator.url}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await emulator.close();
      await module.shutdown?.();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
