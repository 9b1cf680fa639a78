// Runs one s3db node from a cluster config: `node --import tsx appliance/s3db/main.ts -config FILE -db-node N [-join]`.
// `s3d -db -config FILE -db-node N` does the same through the CLI. Prints one `S3DB_READY {json}` line when serving.
import { loadConfig } from '../../shared/config/index.ts';
import { startS3dbNodeFromConfig } from './node.ts';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === `-${name}` || a === `--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const configPath = arg(argv, 'config') ?? process.env['CONFIG'] ?? 'config/server.toml';
  const config = await loadConfig(configPath);
  const nodeArg = arg(argv, 'db-node') ?? process.env['DB_NODE'];
  const id = nodeArg === undefined || nodeArg === '-1' ? config.db[0]!.id : Number(nodeArg);
  const join = argv.includes('-join') || argv.includes('--join');
  const node = await startS3dbNodeFromConfig(config, id, {
    join,
    log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
  });
  process.stdout.write(
    `S3DB_READY ${JSON.stringify({ id, httpPort: node.httpPort, raftPort: node.raftPort })}\n`,
  );
  const stop = (): void => {
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  void node.fatal.then(() => process.exit(1));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`s3db: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
