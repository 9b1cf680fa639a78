// Background work of one appliance process (docs/maintenance.md): the job runner, the healer, the
// garbage worker, and the compaction, scrub and orphan schedules. Started by appliance/daemon.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { maintenanceOf } from '../../shared/config/index.ts';
import type { ClusterConfig } from '../../shared/config/index.ts';
import { S3dbClient } from '../../shared/s3db-client/index.ts';
import { ShardClient } from '../../shared/shard-client/index.ts';
import type { ShardPeer } from '../../shared/shard-client/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';
import { createTransport } from '../../shared/transport/index.ts';
import type { ShardStore } from '../store/index.ts';
import type { RepairContext } from './chunk-repair.ts';
import { jobExecutor } from './executors.ts';
import { GarbageCollector } from './garbage.ts';
import { Healer } from './healer.ts';
import { MembershipSource } from './membership.ts';
import { OrphanTracker, sweepOrphans } from './orphans.ts';
import { RateLimiter, realClock } from './rate-limit.ts';
import { JobRunner } from './runner.ts';
import { scrubAndQueue } from './scrub.ts';
import { statsFor } from './stats.ts';
import type { MaintenanceStats } from './stats.ts';
import { formatHostPort } from '../../shared/net/host-port.ts';

export { maintenanceStats, statsFor } from './stats.ts';
export type { MaintenanceStats } from './stats.ts';
export { registerJobExecutor } from './executors.ts';
export type { JobContext, JobExecutor } from './executors.ts';

export interface MaintenanceOptions {
  config: ClusterConfig;
  applianceId: number;
  store: ShardStore;
  /** This appliance's cluster identity (mTLS to peers, CA for s3db). */
  tls: TlsIdentity;
  log?: (line: string) => void;
}

export interface RunningMaintenance {
  stats: MaintenanceStats;
  runner: JobRunner;
  healer: Healer;
  garbage: GarbageCollector;
  close(): Promise<void>;
}

const STATE_FILE = 'maintenance-state.json';

/** Appliance id (as recorded in placements) → shard protocol address. */
export function peersOf(config: ClusterConfig): Map<string, ShardPeer> {
  return new Map(
    config.nodes.map((n) => [
      String(n.id),
      { host: n.advertiseHost, port: n.port, serverName: `node-${n.id}.predastore.internal` },
    ]),
  );
}

export function s3dbClientFor(config: ClusterConfig, caPem: string): S3dbClient {
  const first = config.db[0];
  if (first === undefined) throw new Error('the config has no s3db node');
  return new S3dbClient({
    nodes: config.db.map((d) => formatHostPort(d.advertiseHost, d.port)),
    credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
    region: config.region,
    caPem,
    retryForMs: 15_000,
  });
}

export async function startMaintenance(options: MaintenanceOptions): Promise<RunningMaintenance> {
  const { config, applianceId, store } = options;
  const log = throttled(options.log ?? (() => {}));
  const settings = maintenanceOf(config);
  const owner = String(applianceId);
  const stats = statsFor(applianceId);
  const db = s3dbClientFor(config, options.tls.caPem);
  const shards = new ShardClient({
    transport: await createTransport(config.transport.kind),
    tls: options.tls,
    defaultTimeoutMs: 30_000,
    connectTimeoutMs: 3000,
  });
  const peers = peersOf(config);
  const members = new MembershipSource(db, config);
  const repair: RepairContext = {
    db,
    shards,
    peers,
    membership: () => members.get(),
    limiter: new RateLimiter(settings.repairBytesPerSecond),
    timeoutMs: 5000,
    minBytesPerMs: 250,
    concurrency: settings.repairConcurrency,
    stats,
  };
  const probes = new Map<string, { at: number; up: Promise<boolean> }>();
  const reachable = (node: string): Promise<boolean> => {
    const peer = peers.get(node);
    if (peer === undefined) return Promise.resolve(false);
    const cached = probes.get(node);
    if (cached && Date.now() - cached.at < 2000) return cached.up;
    const up = shards.stat(peer, { timeoutMs: 1000 }).then(
      () => true,
      () => false,
    );
    probes.set(node, { at: Date.now(), up });
    return up;
  };
  const prefixed = (what: string) => (line: string) => log(`node ${applianceId}: ${what}${line}`);
  const healer = new Healer({ db, repair, owner, settings, reachable, log: prefixed('') });
  const garbage = new GarbageCollector({
    db,
    shards,
    peers,
    membership: () => members.get(),
    limiter: new RateLimiter(settings.gcDeletesPerSecond),
    leaseMs: settings.jobLeaseMs,
    pollMs: settings.gcPollMs,
    retryBaseMs: settings.repairRetryBaseMs,
    retryMaxMs: settings.repairRetryMaxMs,
    deleteTimeoutMs: 5000,
    stats,
    log: prefixed(''),
  });
  const runner = new JobRunner({
    db,
    owner,
    pollMs: settings.jobPollMs,
    leaseMs: settings.jobLeaseMs,
    executor: jobExecutor,
    context: (job, signal, progress) => ({
      job,
      signal,
      progress,
      db,
      shards,
      peers,
      config,
      log: prefixed(`${job.kind} job ${job.id.slice(0, 8)}: `),
      applianceId,
      store,
      repair,
      garbage,
      stats,
    }),
    stats,
    log: prefixed(''),
  });

  const stopping = new AbortController();
  const schedules: Promise<void>[] = [];
  /** Runs `work` every `intervalMs` (0 = never), first after `firstDelayMs`; never two at once. */
  const every = (name: string, intervalMs: number, firstDelayMs: number, work: () => Promise<void>): void => {
    if (intervalMs <= 0) return;
    schedules.push(
      (async () => {
        let delay = firstDelayMs;
        while (!stopping.signal.aborted) {
          try {
            await realClock.sleep(delay, stopping.signal);
          } catch {
            return;
          }
          try {
            await work();
          } catch (error) {
            if (!stopping.signal.aborted) log(`node ${applianceId}: ${name} failed: ${String(error)}`);
          }
          delay = intervalMs;
        }
      })(),
    );
  };

  every('compaction', settings.compactIntervalMs, settings.compactIntervalMs, async () => {
    const results = await store.compact();
    const compacted = results.filter((r) => r.skipped === undefined);
    const reclaimed = results.reduce((n, r) => n + r.reclaimedBytes, 0);
    stats.compaction.runs++;
    stats.compaction.volumesCompacted += compacted.length;
    stats.compaction.reclaimedBytes += reclaimed;
    stats.compaction.lastRunAt = Date.now();
    if (compacted.length > 0)
      log(`node ${applianceId}: compaction: ${compacted.length} volume(s), ${reclaimed} bytes reclaimed`);
  });

  // The first start counts as a scrub: a new appliance has nothing to check yet.
  const statePath = join(store.path, STATE_FILE);
  let lastScrub = await readLastScrub(statePath);
  if (lastScrub === 0 && settings.scrubIntervalMs > 0)
    await writeLastScrub(statePath, (lastScrub = Date.now()));
  every(
    'scrub',
    settings.scrubIntervalMs,
    Math.max(0, lastScrub + settings.scrubIntervalMs - Date.now()),
    async () => {
      const outcome = await scrubAndQueue({ store, db, stats, log: prefixed('') });
      await writeLastScrub(statePath, Date.now());
      log(
        `node ${applianceId}: scrub: ${outcome.bytes} bytes checked, ${outcome.corruptShards} corrupt shard(s), ${outcome.repairsQueued} repair(s) queued`,
      );
    },
  );

  const tracker = new OrphanTracker(settings.orphanGraceMs);
  every('orphan sweep', settings.orphanSweepIntervalMs, settings.orphanSweepIntervalMs, async () => {
    const outcome = await sweepOrphans({ store, db, tracker, stats, log: prefixed('') });
    if (outcome.unreferenced > 0)
      log(
        `node ${applianceId}: orphan sweep: ${outcome.unreferenced} unreferenced version(s), ${outcome.deletedShards} shard(s) deleted`,
      );
  });

  healer.start();
  garbage.start();
  runner.start();
  let closing: Promise<void> | undefined;
  return {
    stats,
    runner,
    healer,
    garbage,
    close: () =>
      (closing ??= (async () => {
        stopping.abort(new Error('maintenance stopped'));
        // Schedules end at their next wait; work in flight (a long scrub) is cut short by the store closing.
        await Promise.all([runner.stop(), healer.stop(), garbage.stop()]);
        await shards.close();
        db.close();
      })()),
  };
}

async function readLastScrub(path: string): Promise<number> {
  try {
    const state = JSON.parse(await readFile(path, 'utf8')) as { lastScrubAt?: unknown };
    return typeof state.lastScrubAt === 'number' ? state.lastScrubAt : 0;
  } catch {
    return 0;
  }
}

async function writeLastScrub(path: string, at: number): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify({ lastScrubAt: at }) + '\n');
  await rename(tmp, path);
}

/**
 * The same failure repeats on every poll while s3db or a peer is down: say it once a minute. Lines are
 * compared without digits, so retries that differ only in numbers count as the same.
 */
function throttled(log: (line: string) => void, windowMs = 60_000): (line: string) => void {
  const last = new Map<string, number>();
  return (line) => {
    if (!/fail|could not|unreadable/i.test(line)) return log(line);
    const shape = line.replace(/\d+/g, '#');
    const now = Date.now();
    if (now - (last.get(shape) ?? -Infinity) < windowMs) return;
    if (last.size > 1000) last.clear();
    last.set(shape, now);
    log(line);
  };
}
