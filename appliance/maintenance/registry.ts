// Job executors by kind, and what an executor is given (docs/maintenance.md, jobs contract).
import type { ClusterConfig } from '../../shared/config/index.ts';
import type { JobKind, JobProgress, JobRecord } from '../../shared/jobs/index.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { ShardClient, ShardPeer } from '../../shared/shard-client/index.ts';
import type { ShardStore } from '../store/index.ts';
import type { RepairContext } from './chunk-repair.ts';
import type { GarbageCollector } from './garbage.ts';
import type { MaintenanceStats } from './stats.ts';

export interface ProgressPatch extends Partial<JobProgress> {
  /** Opaque resume point (hex); saved with the progress, handed back on resume. */
  cursor?: string;
}

export interface JobContext {
  /** The job as claimed (params, cursor and progress of an earlier run when resumed). */
  job: JobRecord;
  /** Aborted when the job is asked to stop, taken over, or the appliance shuts down. */
  signal: AbortSignal;
  /** Records progress; the runner saves it (with the lease) every few seconds. */
  progress(patch: ProgressPatch): void;
  db: S3dbClient;
  /** Shard client with this appliance's mTLS identity. */
  shards: ShardClient;
  /** Appliance id (as placed on the ring and recorded) → address. */
  peers: ReadonlyMap<string, ShardPeer>;
  config: ClusterConfig;
  log(line: string): void;
  /** The appliance running the job, and its local shard store. */
  applianceId: number;
  store: ShardStore;
  /** The healer's machinery (rate limiter, membership, timeouts) for executors that move shards. */
  repair: RepairContext;
  garbage: GarbageCollector;
  stats: MaintenanceStats;
}

/** Why a job's signal was aborted: a stop request, the appliance shutting down, or the job lost. */
export class JobAbortError extends Error {
  constructor(
    readonly reason: 'stop' | 'shutdown' | 'lost',
    jobId: string,
  ) {
    super(`job ${jobId}: ${reason}`);
    this.name = 'JobAbortError';
  }
}

export type JobExecutor = (ctx: JobContext) => Promise<Record<string, number | string> | void>;

const executors = new Map<JobKind, JobExecutor>();

/** Registers the executor of `kind` (the last registration wins). */
export function registerJobExecutor(kind: JobKind, executor: JobExecutor): void {
  executors.set(kind, executor);
}

export function jobExecutor(kind: JobKind): JobExecutor | undefined {
  return executors.get(kind);
}

export function registeredKinds(): JobKind[] {
  return [...executors.keys()];
}
