// What `GET /_predastore/admin/status`, `s3d admin status` and the status page show: appliances up or
// down (STAT over the shard protocol) with their disk use, every s3db member's Raft state and lag
// (its /status), the ring (s3db's ring record, else the config's), the repair backlog and the jobs.
import type { ClusterConfig, ShardNodeConfig } from '../../shared/config/index.ts';
import { loadRing } from '../../shared/cluster/index.ts';
import { JOB_STATES, listJobs } from '../../shared/jobs/index.ts';
import type { JobRecord, JobState, JobsDb } from '../../shared/jobs/index.ts';
import { TABLES } from '../../shared/metadata/keys.ts';
import type { NodeStats } from '../../shared/protocol/messages.ts';
import type { RateTotals } from '../../shared/metrics/index.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import { formatHostPort } from '../../shared/net/host-port.ts';

export interface NodeStatus {
  id: string;
  address: string;
  up: boolean;
  /** Why it counts as down. */
  error?: string;
  /** Its state in the ring record; `absent` when the ring does not list it. */
  ring: string;
  stats?: NodeStats;
  /** STAT round trip. */
  latencyMs?: number;
}

export interface DbMemberStatus {
  id: number;
  address: string;
  up: boolean;
  error?: string;
  role?: string;
  term?: number;
  leaderId?: number;
  commit?: number;
  applied?: number;
  lastIndex?: number;
  /** Entries the member has yet to apply, against the leader's commit index. */
  lag?: number;
}

export interface JobSummary {
  id: string;
  kind: string;
  state: JobState;
  created: number;
  updated: number;
  owner?: string;
  params: JobRecord['params'];
  progress: JobRecord['progress'];
  error?: string;
}

export interface ClusterStatus {
  generated: number;
  region: string;
  nodes: NodeStatus[];
  nodesUp: number;
  db: { leaderId?: number; members: DbMemberStatus[]; membersUp: number };
  ring: {
    source: 's3db' | 'config';
    epoch: number;
    vnodes: number;
    rs: { k: number; m: number };
    nodes: Array<{ id: string; state: string }>;
    error?: string;
  };
  repairBacklog: { count: number; capped: boolean; error?: string };
  jobs: {
    active: JobSummary[];
    recent: JobSummary[];
    counts: Partial<Record<JobState, number>>;
    error?: string;
  };
  /** This gateway's traffic over the last minute, per second. */
  gateway?: RateTotals;
}

export type StatusDb = JobsDb & Pick<S3dbClient, 'status'>;

export interface StatusDeps {
  config: ClusterConfig;
  db: StatusDb;
  /** STAT of one appliance (with a short timeout). */
  stat(node: ShardNodeConfig): Promise<NodeStats>;
  rates?: () => RateTotals;
  now?: () => number;
  /** Most repair records counted (default 10 000). */
  repairCountCap?: number;
}

const ACTIVE: readonly JobState[] = ['queued', 'running', 'stopping'];

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function summarizeJob(r: JobRecord): JobSummary {
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    created: r.created,
    updated: r.updated,
    ...(r.owner === undefined ? {} : { owner: r.owner }),
    params: r.params,
    progress: r.progress,
    ...(r.error === undefined ? {} : { error: r.error }),
  };
}

async function nodeStatuses(deps: StatusDeps, ringStates: Map<string, string>): Promise<NodeStatus[]> {
  return Promise.all(
    deps.config.nodes.map(async (node): Promise<NodeStatus> => {
      const id = String(node.id);
      const base = {
        id,
        address: formatHostPort(node.advertiseHost, node.port),
        ring: ringStates.get(id) ?? 'absent',
      };
      const started = performance.now();
      try {
        const stats = await deps.stat(node);
        return { ...base, up: true, stats, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (error) {
        return { ...base, up: false, error: message(error) };
      }
    }),
  );
}

async function dbStatuses(deps: StatusDeps): Promise<ClusterStatus['db']> {
  const members = await Promise.all(
    deps.config.db.map(async (d): Promise<DbMemberStatus> => {
      const address = formatHostPort(d.advertiseHost, d.port);
      try {
        const s = await deps.db.status(address);
        const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
        const fsmApplied = num(s['fsmApplied']);
        const applied = fsmApplied ?? num(s['applied']);
        return {
          id: d.id,
          address,
          up: true,
          ...(typeof s['role'] === 'string' ? { role: s['role'] } : {}),
          ...(num(s['term']) === undefined ? {} : { term: num(s['term'])! }),
          ...(num(s['leaderId']) === undefined ? {} : { leaderId: num(s['leaderId'])! }),
          ...(num(s['commit']) === undefined ? {} : { commit: num(s['commit'])! }),
          ...(applied === undefined ? {} : { applied }),
          ...(num(s['lastIndex']) === undefined ? {} : { lastIndex: num(s['lastIndex'])! }),
        };
      } catch (error) {
        return { id: d.id, address, up: false, error: message(error) };
      }
    }),
  );
  const leader = members.find((m) => m.up && m.role === 'leader');
  if (leader?.commit !== undefined)
    for (const m of members)
      if (m.up && m.applied !== undefined) m.lag = Math.max(0, leader.commit - m.applied);
  return {
    ...(leader === undefined ? {} : { leaderId: leader.id }),
    members,
    membersUp: members.filter((m) => m.up).length,
  };
}

async function ringStatus(deps: StatusDeps): Promise<ClusterStatus['ring']> {
  const fromConfig = {
    source: 'config' as const,
    epoch: 0,
    vnodes: deps.config.ring.vnodes,
    rs: { k: deps.config.rs.data, m: deps.config.rs.parity },
    nodes: deps.config.nodes.map((n) => ({ id: String(n.id), state: 'active' })),
  };
  try {
    const stored = await loadRing(deps.db);
    if (stored === undefined) return fromConfig;
    const r = stored.record;
    return {
      source: 's3db',
      epoch: r.epoch,
      vnodes: r.vnodes,
      rs: r.rs ?? fromConfig.rs,
      nodes: r.nodes.map((n) => ({ id: n.id, state: n.state })),
    };
  } catch (error) {
    return { ...fromConfig, error: message(error) };
  }
}

async function repairBacklog(deps: StatusDeps): Promise<ClusterStatus['repairBacklog']> {
  return countRepairBacklog(deps.db, deps.repairCountCap ?? 10_000);
}

/** Repair tasks queued in `pd.repair`, counted page by page up to `cap` (stale reads: no ReadIndex). */
export async function countRepairBacklog(
  db: Pick<S3dbClient, 'scan'>,
  cap = 10_000,
): Promise<ClusterStatus['repairBacklog']> {
  let count = 0;
  let startAfter: Uint8Array | undefined;
  try {
    for (let page = 0; page < 1000 && count < cap; page++) {
      const got = await db.scan(TABLES.repair, {
        limit: Math.min(1000, cap - count),
        stale: true,
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      count += got.items.length;
      if (!got.truncated || got.nextStartAfter === undefined) return { count, capped: false };
      startAfter = got.nextStartAfter;
    }
    return { count, capped: true };
  } catch (error) {
    return { count, capped: false, error: message(error) };
  }
}

async function jobStatus(deps: StatusDeps): Promise<ClusterStatus['jobs']> {
  try {
    const all = await listJobs(deps.db, { limit: 10_000 });
    const counts: Partial<Record<JobState, number>> = {};
    for (const state of JOB_STATES) {
      const n = all.filter((j) => j.state === state).length;
      if (n > 0) counts[state] = n;
    }
    return {
      active: all.filter((j) => ACTIVE.includes(j.state)).map(summarizeJob),
      recent: all
        .filter((j) => !ACTIVE.includes(j.state))
        .slice(0, 10)
        .map(summarizeJob),
      counts,
    };
  } catch (error) {
    return { active: [], recent: [], counts: {}, error: message(error) };
  }
}

/** Collects everything at once; a part that cannot be read says so in its `error`, never fails the whole. */
export async function collectClusterStatus(deps: StatusDeps): Promise<ClusterStatus> {
  const ring = await ringStatus(deps);
  const ringStates = new Map(ring.nodes.map((n) => [n.id, n.state]));
  const [nodes, db, backlog, jobs] = await Promise.all([
    nodeStatuses(deps, ringStates),
    dbStatuses(deps),
    repairBacklog(deps),
    jobStatus(deps),
  ]);
  return {
    generated: (deps.now ?? Date.now)(),
    region: deps.config.region,
    nodes,
    nodesUp: nodes.filter((n) => n.up).length,
    db,
    ring,
    repairBacklog: backlog,
    jobs,
    ...(deps.rates === undefined ? {} : { gateway: deps.rates() }),
  };
}
