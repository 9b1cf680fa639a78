// The `s3d` command: parses flags and environment (spec §2), loads the config, and dispatches.
// `bin/s3d.mjs` calls main() and uses its return value as the exit code.
import { access, constants } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ConfigError, loadConfig } from '../shared/config/index.ts';
import { localAddresses } from '../shared/config/local-addresses.ts';
import { formatPlan } from '../shared/config/plan-format.ts';
import { hasSupervisor } from '../shared/process/readiness.ts';
import { PlanError, planStart } from '../shared/config/plan.ts';
import type { Backend, StartOptions, StartPlan } from '../shared/config/plan.ts';
import { formatFlagUsage, parseArgs, resolveFlags, UsageError } from './flags.ts';
import type { FlagSpec, FlagValue } from './flags.ts';

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

export const DEFAULT_CONFIG = 'config/server.toml';
export const DEFAULT_PORT = 443;

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'config',
    kind: 'string',
    env: 'CONFIG',
    valueName: 'path',
    usage: `cluster configuration file (default ${DEFAULT_CONFIG})`,
  },
  {
    name: 'backend',
    kind: 'string',
    env: 'BACKEND',
    valueName: 'name',
    usage:
      'storage backend: filesystem or distributed (default: distributed if the config has [[nodes]] or [[db]])',
  },
  {
    name: 'node',
    kind: 'int',
    env: 'NODE',
    // npm sets NODE to the path of the node binary for `npx` and `npm run`; that is not a node id.
    envIgnored: (value) => value.includes('/') || value.includes('\\'),
    valueName: 'id',
    usage: 'shard node (appliance) id to run; -1 = dev mode, runs everything locally',
  },
  { name: 'db', kind: 'bool', env: 'DB_ONLY', usage: 'run only the distributed database server (s3db)' },
  {
    name: 'db-node',
    kind: 'int',
    env: 'DB_NODE',
    valueName: 'id',
    usage: 'database node id to run; -1 = auto-detect (every [[db]] entry on this machine)',
  },
  {
    name: 'port',
    kind: 'int',
    env: 'PORT',
    valueName: 'port',
    usage: `S3 API server port (default ${DEFAULT_PORT})`,
  },
  {
    name: 'tls-cert',
    kind: 'string',
    valueName: 'path',
    usage: 'path to the TLS certificate (PEM) of the S3 API',
  },
  {
    name: 'tls-key',
    kind: 'string',
    valueName: 'path',
    usage: 'path to the TLS private key (PEM) of the S3 API',
  },
  {
    name: 'host',
    kind: 'string',
    valueName: 'address',
    usage: 'bind address of the S3 API (default 127.0.0.1 in dev mode, 0.0.0.0 otherwise)',
  },
  {
    name: 'no-gateway',
    kind: 'bool',
    usage: 'run no S3 gateway in this process (dev mode: only the s3db nodes and appliances)',
  },
  { name: 'plan', kind: 'bool', usage: 'print what would be started and exit, starting nothing' },
];

export const USAGE = `Usage:
  s3d [flags]                   run Predastore parts as the config and flags say
  s3d certs <command> [flags]   create the cluster CA and node certificates (s3d certs -h)
  s3d admin <command> [flags]   cluster status, repair, scrub, gc, rebalance, drain, jobs (s3d admin -h)

Flags (-flag value, -flag=value and --flag all work; a flag beats its environment variable):
${formatFlagUsage(FLAGS)}
  -h, -help
    \tshow this help

Examples:
  s3d -config config/dev.toml                       dev mode: the whole cluster on this machine
  s3d -config cluster.toml -node 1 -db-node 1       appliance 1 and s3db node 1 of a multi-host cluster
  s3d -db -config cluster.toml -db-node 2           s3db node 2 only
  s3d -config config/server.toml -port 8443         filesystem backend on one machine
  s3d -config cluster.toml -plan                    show what would start, start nothing

s3d prints its plan, starts it, prints the S3 endpoint once requests succeed, and runs until SIGTERM or
Ctrl-C, which stop everything it started (exit 0). In dev mode each s3db node and each appliance is a
child process; one that dies on its own stops the cluster (exit 1).`;

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo = defaultIo,
): Promise<number> {
  try {
    return await run(argv, env, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`s3d: ${error.message}`);
      io.err(USAGE);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof PlanError) {
      for (const problem of error.problems) io.err(problem);
      const count = error.problems.length;
      io.err(`s3d: ${count} problem${count === 1 ? '' : 's'}; nothing started`);
      return 2;
    }
    io.err(`s3d: internal error: ${(error as Error).message ?? String(error)}`);
    if (env.S3D_DEBUG !== undefined && error instanceof Error && error.stack !== undefined)
      io.err(error.stack);
    return 1;
  }
}

async function run(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo,
): Promise<number> {
  const parsed = parseArgs(argv, FLAGS);
  if (parsed.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, ...rest] = parsed.positionals;
  if (command === 'certs') {
    const { runCertsCommand } = await import('../shared/tls/certs-command.ts');
    return runCertsCommand(rest, io);
  }
  if (command === 'admin') {
    const { runAdminCommand, processAdminIo } = await import('./admin/command.ts');
    return runAdminCommand(rest, env, { ...processAdminIo(), out: io.out, err: io.err });
  }
  if (command !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(command)}`);

  const { values, sources } = resolveFlags(parsed, FLAGS, env);
  const options = startOptions(values);
  const host = stringValue(values, 'host');
  if (host !== undefined && isIP(host) === 0 && host !== 'localhost')
    throw new UsageError(`invalid value ${JSON.stringify(host)} for -host: must be an IP address`);
  const configPath = stringValue(values, 'config') ?? DEFAULT_CONFIG;
  const config = await loadConfig(configPath);
  await checkReadable(options);
  const planned = planStart(config, options, localAddresses(), sources.get('backend'));
  if (values.get('no-gateway') === true && planned.mode === 'filesystem')
    throw new UsageError('-no-gateway: the filesystem backend is nothing but the gateway');
  const plan = values.get('no-gateway') === true ? withoutGateway(planned) : planned;
  // A supervised child's plan is one line of its parent's; it is not repeated.
  if (values.get('plan') === true || !hasSupervisor()) io.out(formatPlan(plan));
  if (values.get('plan') === true) return 0;
  const { runPlan } = await import('./run.ts');
  return runPlan(plan, { io, configPath, env, ...(host === undefined ? {} : { host }) });
}

function startOptions(values: ReadonlyMap<string, FlagValue>): StartOptions {
  const backend = stringValue(values, 'backend');
  if (backend !== undefined && backend !== 'filesystem' && backend !== 'distributed')
    throw new UsageError(
      `invalid value ${JSON.stringify(backend)} for -backend: must be filesystem or distributed`,
    );
  const node = numberValue(values, 'node');
  if (node !== undefined && node < -1)
    throw new UsageError(`invalid value ${node} for -node: must be a node id, or -1 for dev mode`);
  const dbNode = numberValue(values, 'db-node');
  if (dbNode !== undefined && dbNode < -1)
    throw new UsageError(`invalid value ${dbNode} for -db-node: must be a node id, or -1 for auto-detect`);
  const port = numberValue(values, 'port');
  if (port !== undefined && (port < 0 || port > 65535))
    throw new UsageError(`invalid value ${port} for -port: must be 0..65535`);
  const tlsCert = stringValue(values, 'tls-cert');
  const tlsKey = stringValue(values, 'tls-key');
  return {
    ...(backend === undefined ? {} : { backend: backend as Backend }),
    ...(node === undefined ? {} : { node }),
    dbOnly: values.get('db') === true,
    ...(dbNode === undefined ? {} : { dbNode }),
    port: port ?? DEFAULT_PORT,
    portGiven: port !== undefined,
    ...(tlsCert === undefined ? {} : { tlsCert }),
    ...(tlsKey === undefined ? {} : { tlsKey }),
  };
}

function stringValue(values: ReadonlyMap<string, FlagValue>, name: string): string | undefined {
  const value = values.get(name);
  return typeof value === 'string' ? value : undefined;
}

function numberValue(values: ReadonlyMap<string, FlagValue>, name: string): number | undefined {
  const value = values.get(name);
  return typeof value === 'number' ? value : undefined;
}

async function checkReadable(options: StartOptions): Promise<void> {
  const problems: string[] = [];
  for (const [flag, path] of [
    ['-tls-cert', options.tlsCert],
    ['-tls-key', options.tlsKey],
  ] as const) {
    if (path === undefined) continue;
    try {
      await access(path, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(
        `${flag} ${path}: cannot read: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}`,
      );
    }
  }
  if (problems.length > 0) throw new PlanError(problems);
}

function withoutGateway(plan: StartPlan): StartPlan {
  const { gateway: _gateway, ...rest } = plan;
  return rest;
}
