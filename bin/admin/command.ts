// `s3d admin …`: status, jobs (create and follow with a progress bar, list, stop, resume) and a
// signed status-page URL, against a gateway's admin API (docs/operations.md).
import { access } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../../shared/config/index.ts';
import type { JobRecord } from '../../shared/jobs/index.ts';
import { ADMIN_ACTIONS, adminKeys } from '../../gateway/admin/auth-rules.ts';
import type { ClusterStatus } from '../../gateway/admin/cluster-status.ts';
import { formatDuration, formatProgress, table } from '../../gateway/admin/format.ts';
import { statusText } from '../../gateway/admin/status-text.ts';
import { formatFlagUsage, UsageError } from '../flags.ts';
import { ADMIN_FLAGS, ADMIN_USAGE, parseAdminArgs } from './args.ts';
import type { AdminArgs, AdminCommand } from './args.ts';
import { AdminApiError, AdminClient } from './client.ts';
import type { AdminCredentials } from './client.ts';
import { followJob } from './follow.ts';

export interface AdminIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Raw text to stderr (progress redraws). */
  write: (text: string) => void;
  isTTY: boolean;
  /** Calls `handler` on Ctrl-C; returns the unsubscribe. */
  onInterrupt: (handler: () => void) => () => void;
}

export const processAdminIo = (): AdminIo => ({
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  write: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
});

const ADMIN = '/_predastore/admin';

function jobsTable(jobs: readonly JobRecord[], now: number): string {
  if (jobs.length === 0) return '(no jobs)';
  return table([
    ['ID', 'KIND', 'STATE', 'PROGRESS', 'CREATED', 'UPDATED', 'PARAMS', 'NOTE'],
    ...jobs.map((j) => [
      j.id,
      j.kind,
      j.state,
      formatProgress(j.progress),
      `${formatDuration((now - j.created) / 1000)} ago`,
      `${formatDuration((now - j.updated) / 1000)} ago`,
      Object.entries(j.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
      j.error ?? '',
    ]),
  ]);
}

function jobText(j: JobRecord): string {
  const lines = [
    `job ${j.id}: ${j.kind} ${j.state}`,
    `  progress  ${formatProgress(j.progress)}${j.progress.bytes > 0 ? `, ${j.progress.bytes} bytes` : ''}`,
    `  created   ${new Date(j.created).toISOString()}, updated ${new Date(j.updated).toISOString()}`,
  ];
  if (Object.keys(j.params).length > 0)
    lines.push(
      `  params    ${Object.entries(j.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`,
    );
  if (j.owner !== undefined) lines.push(`  owner     ${j.owner}`);
  if (j.result !== undefined)
    lines.push(
      `  result    ${Object.entries(j.result)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`,
    );
  if (j.error !== undefined) lines.push(`  error     ${j.error}`);
  return lines.join('\n');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Credentials and region: flags/env, else the config's first [[auth]] entry allowed to do everything. */
async function resolveAccess(args: AdminArgs): Promise<{ credentials: AdminCredentials; region: string }> {
  const given = args.accessKeyId !== undefined && args.secretAccessKey !== undefined;
  if (args.accessKeyId !== undefined && args.secretAccessKey === undefined)
    throw new UsageError('-access-key needs -secret-key (or AWS_SECRET_ACCESS_KEY)');
  if (given && !(await exists(args.configPath)))
    return {
      credentials: { accessKeyId: args.accessKeyId!, secretAccessKey: args.secretAccessKey! },
      region: 'us-east-1',
    };
  const config = await loadConfig(args.configPath);
  if (given)
    return {
      credentials: { accessKeyId: args.accessKeyId!, secretAccessKey: args.secretAccessKey! },
      region: config.region,
    };
  const admins = new Set(adminKeys(config.auth, ADMIN_ACTIONS.createJob));
  const entry = config.auth.find((a) => admins.has(a.accessKeyId));
  if (entry === undefined)
    throw new UsageError(
      `${args.configPath} has no [[auth]] entry whose policy allows "admin:*"; add one, or give -access-key and -secret-key`,
    );
  return {
    credentials: { accessKeyId: entry.accessKeyId, secretAccessKey: entry.secretAccessKey },
    region: config.region,
  };
}

export async function runAdminCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: AdminIo = processAdminIo(),
): Promise<number> {
  let args: AdminArgs;
  try {
    args = parseAdminArgs(argv, env);
    if (args.help || args.command === undefined) {
      io.out(`${ADMIN_USAGE}\n${formatFlagUsage(ADMIN_FLAGS)}`);
      return 0;
    }
    const { credentials, region } = await resolveAccess(args);
    const client = new AdminClient(args.endpoint, credentials, region);
    return await execute(args, args.command, client, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`s3d admin: ${error.message}`);
      io.err('s3d admin -h for the commands and flags');
      return 2;
    }
    if (error instanceof ConfigError) {
      for (const problem of error.problems) io.err(problem);
      return 2;
    }
    if (error instanceof AdminApiError) {
      io.err(`s3d admin: ${error.code}: ${error.message}`);
      return 1;
    }
    io.err(`s3d admin: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

async function execute(
  args: AdminArgs,
  command: AdminCommand,
  client: AdminClient,
  io: AdminIo,
): Promise<number> {
  const print = (value: unknown, text: () => string): void =>
    io.out(args.json ? JSON.stringify(value, null, 2) : text());
  switch (command.kind) {
    case 'status': {
      const status = await client.get<ClusterStatus>(`${ADMIN}/status`);
      print(status, () => statusText(status));
      const healthy = status.nodesUp === status.nodes.length && status.db.leaderId !== undefined;
      return healthy ? 0 : 3;
    }
    case 'status-url':
      io.out(client.presignedUrl('/_predastore/status', command.expires));
      return 0;
    case 'jobs': {
      const { jobs } = await client.get<{ jobs: JobRecord[] }>(`${ADMIN}/jobs`);
      print(jobs, () => jobsTable(jobs, Date.now()));
      return 0;
    }
    case 'job': {
      const job = await client.get<JobRecord>(`${ADMIN}/jobs/${command.id}`);
      print(job, () => jobText(job));
      return 0;
    }
    case 'stop': {
      const job = await client.post<JobRecord>(`${ADMIN}/jobs/${command.id}/stop`);
      print(
        job,
        () =>
          `job ${job.id}: ${job.state}${job.state === 'stopping' ? ' (its runner saves where it was, then stops)' : ''}`,
      );
      return 0;
    }
    case 'resume': {
      const job = await client.post<JobRecord>(`${ADMIN}/jobs/${command.id}/resume`);
      print(job, () => `job ${job.id}: ${job.state}`);
      return 0;
    }
    case 'run':
      return runJob(args, command, client, io);
  }
}

async function runJob(
  args: AdminArgs,
  command: Extract<AdminCommand, { kind: 'run' }>,
  client: AdminClient,
  io: AdminIo,
): Promise<number> {
  const job = await client.post<JobRecord>(`${ADMIN}/jobs`, { kind: command.job, params: command.params });
  const stopHint = `s3d admin -config ${args.configPath} -endpoint ${args.endpoint} stop ${job.id}`;
  if (args.detach) {
    io.out(args.json ? JSON.stringify(job, null, 2) : job.id);
    return 0;
  }
  io.err(`job ${job.id}: ${job.kind} ${job.state}`);
  const interrupt = new AbortController();
  const unsubscribe = io.onInterrupt(() => interrupt.abort());
  try {
    const result = await followJob({
      fetch: () => client.get<JobRecord>(`${ADMIN}/jobs/${job.id}`),
      write: io.write,
      isTTY: io.isTTY,
      intervalMs: args.intervalMs,
      signal: interrupt.signal,
    });
    if (result.interrupted) {
      if (args.stopOnExit) {
        const stopped = await client.post<JobRecord>(`${ADMIN}/jobs/${job.id}/stop`);
        io.err(`job ${job.id}: ${stopped.state} (-stop-on-exit); resume it with: s3d admin resume ${job.id}`);
      } else {
        io.err(
          `job ${job.id} keeps running; follow it with 's3d admin job ${job.id}', stop it with: ${stopHint}`,
        );
      }
      return 130;
    }
    const final = result.record;
    if (args.json) io.out(JSON.stringify(final, null, 2));
    else io.out(jobText(final));
    if (final.state === 'done') return 0;
    io.err(
      final.state === 'failed'
        ? `job ${final.id} failed: ${final.error ?? 'no reason recorded'}`
        : `job ${final.id} was stopped; resume it with: s3d admin resume ${final.id}`,
    );
    return 1;
  } finally {
    unsubscribe();
  }
}
