// `s3d admin` command line (pure): global flags, the command, its arguments and job params.
import { UsageError, parseArgs, resolveFlags } from '../flags.ts';
import type { FlagSpec, FlagValue } from '../flags.ts';

export const ADMIN_FLAGS: readonly FlagSpec[] = [
  {
    name: 'config',
    kind: 'string',
    env: 'CONFIG',
    valueName: 'path',
    usage: 'cluster configuration file (default config/server.toml)',
  },
  {
    name: 'endpoint',
    kind: 'string',
    env: 'PREDASTORE_ENDPOINT',
    valueName: 'url',
    usage: 'gateway URL (default http://127.0.0.1:8443, the dev cluster)',
  },
  {
    name: 'access-key',
    kind: 'string',
    env: 'AWS_ACCESS_KEY_ID',
    valueName: 'id',
    usage: 'access key id of an [[auth]] entry with admin:* (default: the first such entry of the config)',
  },
  {
    name: 'secret-key',
    kind: 'string',
    env: 'AWS_SECRET_ACCESS_KEY',
    valueName: 'secret',
    usage: 'its secret access key',
  },
  { name: 'json', kind: 'bool', usage: 'print JSON instead of tables' },
  { name: 'stop-on-exit', kind: 'bool', usage: 'Ctrl-C while following a job also stops the job' },
  { name: 'detach', kind: 'bool', usage: 'create the job and print its id; do not follow it' },
  {
    name: 'interval',
    kind: 'int',
    valueName: 'ms',
    usage: 'poll interval while following a job (default 1000)',
  },
  { name: 'k', kind: 'int', valueName: 'n', usage: 'migrate-rs: data shards of the new scheme' },
  { name: 'm', kind: 'int', valueName: 'n', usage: 'migrate-rs: parity shards of the new scheme' },
  {
    name: 'expires',
    kind: 'int',
    valueName: 'seconds',
    usage: 'status-url: validity of the signed URL (default 3600)',
  },
];

export const JOB_COMMANDS = ['repair', 'scrub', 'rebalance', 'drain', 'gc', 'compact', 'migrate-rs'] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

export type AdminCommand =
  | { kind: 'status' }
  | { kind: 'status-url'; expires: number }
  | { kind: 'jobs' }
  | { kind: 'job'; id: string }
  | { kind: 'stop'; id: string }
  | { kind: 'resume'; id: string }
  | { kind: 'run'; job: JobCommand; params: Record<string, string | number | boolean> };

export interface AdminArgs {
  help: boolean;
  configPath: string;
  endpoint: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  json: boolean;
  stopOnExit: boolean;
  detach: boolean;
  intervalMs: number;
  command?: AdminCommand;
}

export const ADMIN_USAGE = `Usage: s3d admin [flags] <command> [arguments] [flags]

Commands:
  status                    appliances, s3db members and lag, ring, repair backlog, jobs (-json for JSON)
  status-url                print a signed URL of the status page (-expires seconds, default 3600)
  repair                    sweep every object and repair chunks with missing or bad shards
  scrub [NODE]              verify stored shards (one appliance, or all) and queue repairs
  gc                        collect garbage (shards of deleted and overwritten objects)
  compact [NODE]            compact volume files
  rebalance                 move shards to the placement of the current ring epoch
  drain NODE                move every shard off appliance NODE (before removing it)
  migrate-rs -k K -m M      re-encode existing objects to RS(K,M)
  jobs                      list jobs;  job ID  shows one
  stop ID | resume ID       stop a job (it saves where it was) | queue a stopped or failed job again

Job commands follow their job with a progress bar on stderr until it ends (exit 0 when done,
1 when it failed or was stopped). Ctrl-C leaves the job running unless -stop-on-exit.
Extra job parameters: key=value arguments (e.g. bucket=photos prefix=2024/).

Flags (-flag value, -flag=value and --flag all work):`;

const JOB_ID = /^[0-9a-f]{32}$/;

function paramValue(raw: string): string | number | boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d{1,15}$/.test(raw)) return Number(raw);
  return raw;
}

function jobId(args: readonly string[], command: string): string {
  const id = args[0];
  if (id === undefined) throw new UsageError(`${command} needs a job id`);
  if (!JOB_ID.test(id))
    throw new UsageError(`${JSON.stringify(id)} is not a job id (32 lowercase hex digits)`);
  if (args.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(args[1])}`);
  return id;
}

export function parseAdminArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AdminArgs {
  // Flags may come before and after the command: parse up to the command, then the rest.
  const before = parseArgs(argv, ADMIN_FLAGS);
  const [name, ...tail] = before.positionals;
  const after = parseArgs(tail, ADMIN_FLAGS);
  const words: string[] = [];
  let rest = after;
  // Flags may also sit between arguments (`drain 3 -json`): keep parsing after each word.
  const flags = new Map<string, FlagValue>([...before.flags, ...after.flags]);
  let help = before.help || after.help;
  for (let guard = 0; guard < 1000 && rest.positionals.length > 0; guard++) {
    const [word, ...more] = rest.positionals;
    words.push(word!);
    rest = parseArgs(more, ADMIN_FLAGS);
    for (const [k, v] of rest.flags) flags.set(k, v);
    help ||= rest.help;
  }
  const { values } = resolveFlags({ flags, positionals: [], help }, ADMIN_FLAGS, env);
  const str = (n: string): string | undefined => {
    const v = values.get(n);
    return typeof v === 'string' ? v : undefined;
  };
  const num = (n: string): number | undefined => {
    const v = values.get(n);
    return typeof v === 'number' ? v : undefined;
  };
  const interval = num('interval') ?? 1000;
  if (interval < 100 || interval > 60_000) throw new UsageError('-interval must be 100..60000 ms');
  const endpoint = str('endpoint') ?? 'http://127.0.0.1:8443';
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new UsageError(
      `-endpoint ${JSON.stringify(endpoint)} must look like http://host:port or https://host`,
    );
  const out: AdminArgs = {
    help,
    configPath: str('config') ?? 'config/server.toml',
    endpoint: endpoint.replace(/\/$/, ''),
    json: values.get('json') === true,
    stopOnExit: values.get('stop-on-exit') === true,
    detach: values.get('detach') === true,
    intervalMs: interval,
  };
  const key = str('access-key');
  const secret = str('secret-key');
  if (key !== undefined) out.accessKeyId = key;
  if (secret !== undefined) out.secretAccessKey = secret;
  if (name === undefined) {
    if (!help) throw new UsageError('no command given');
    return out;
  }
  out.command = command(name, words, num);
  return out;
}

function command(
  name: string,
  args: readonly string[],
  num: (n: string) => number | undefined,
): AdminCommand {
  const none = (): void => {
    if (args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args[0])}`);
  };
  switch (name) {
    case 'status':
      none();
      return { kind: 'status' };
    case 'status-url': {
      none();
      const expires = num('expires') ?? 3600;
      if (expires < 1 || expires > 604800) throw new UsageError('-expires must be 1..604800 seconds');
      return { kind: 'status-url', expires };
    }
    case 'jobs':
      none();
      return { kind: 'jobs' };
    case 'job':
    case 'stop':
    case 'resume':
      return { kind: name, id: jobId(args, name) };
  }
  if (!(JOB_COMMANDS as readonly string[]).includes(name))
    throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const job = name as JobCommand;
  const params: Record<string, string | number | boolean> = {};
  const positional: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0) params[arg.slice(0, eq)] = paramValue(arg.slice(eq + 1));
    else positional.push(arg);
  }
  if (job === 'drain' || job === 'scrub' || job === 'compact') {
    const node = positional.shift();
    if (node !== undefined) params['node'] = node;
    else if (job === 'drain' && params['node'] === undefined)
      throw new UsageError('drain needs the appliance id: s3d admin drain NODE');
  }
  if (job === 'migrate-rs') {
    const k = num('k') ?? params['k'];
    const m = num('m') ?? params['m'];
    if (k === undefined || m === undefined)
      throw new UsageError('migrate-rs needs the new scheme: -k K -m M');
    params['k'] = k;
    params['m'] = m;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  return { kind: 'run', job, params };
}
