// Runnable gateway with the filesystem backend (used by tests and for local runs):
//   node --import tsx gateway/server-main.ts -config config/server.toml [-port 0] [-host 127.0.0.1]
//        [-base-path DIR] [-tls-cert FILE -tls-key FILE] [-log-level info]
// Prints `LISTENING <url>` on stdout once it accepts connections; SIGTERM/SIGINT close it cleanly.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../shared/config/index.ts';
import { startFilesystemGatewayServer } from './start-filesystem.ts';

function flags(argv: readonly string[]): Map<string, string> {
  const result = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.replace(/^--?/, '');
    const eq = name.indexOf('=');
    if (eq >= 0) result.set(name.slice(0, eq), name.slice(eq + 1));
    else {
      const value = argv[i + 1];
      if (value === undefined) throw new Error(`flag -${name} needs a value`);
      result.set(name, value);
      i++;
    }
  }
  return result;
}

async function main(): Promise<void> {
  const args = flags(process.argv.slice(2));
  const config = await loadConfig(args.get('config') ?? 'config/server.toml');
  const certPath = args.get('tls-cert');
  const keyPath = args.get('tls-key');
  if ((certPath === undefined) !== (keyPath === undefined))
    throw new Error('-tls-cert and -tls-key go together');
  const basePath = args.get('base-path');
  const server = await startFilesystemGatewayServer(config, {
    port: Number(args.get('port') ?? '443'),
    host: args.get('host') ?? '127.0.0.1',
    ...(basePath === undefined ? {} : { basePath }),
    ...(certPath !== undefined && keyPath !== undefined
      ? { tls: { cert: await readFile(certPath), key: await readFile(keyPath) } }
      : {}),
    logger: { level: args.get('log-level') ?? 'warn' },
  });
  process.stdout.write(`LISTENING ${server.url}\n`);
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
