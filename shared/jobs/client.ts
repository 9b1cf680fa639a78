// Job helpers over the s3db client: create, read, list, stop, resume, and the compare-and-set claim
// and renew that keep two appliances from running the same job.
import { randomBytes } from 'node:crypto';
import type { S3dbClient } from '../s3db-client/index.ts';
import {
  JOBS_TABLE,
  JOB_FORMAT,
  JobRecordError,
  decodeJobRecord,
  encodeJobRecord,
  isClaimable,
  isJobKind,
  type JobKind,
  type JobParams,
  type JobRecord,
} from './record.ts';

/** The part of the s3db client the job helpers use (a fake can stand in for tests). */
export type JobsDb = Pick<S3dbClient, 'get' | 'batch' | 'scan'>;

/** The job is not in a state that allows the operation (e.g. resume of a running job). */
export class JobStateError extends Error {
  constructor(
    message: string,
    readonly record: JobRecord,
  ) {
    super(message);
    this.name = 'JobStateError';
  }
}

/** A compare-and-set lost: the stored record is not the one the caller held. `current` is what is stored now. */
export class JobConflictError extends Error {
  constructor(
    message: string,
    readonly current: JobRecord | undefined,
  ) {
    super(message);
    this.name = 'JobConflictError';
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`job ${id} does not exist`);
    this.name = 'JobNotFoundError';
  }
}

/** Fields a renew may change. */
export type JobPatch = Partial<
  Pick<JobRecord, 'state' | 'owner' | 'leaseUntil' | 'progress' | 'cursor' | 'error' | 'result'>
>;

const ID = /^[0-9a-f]{32}$/;
const MAX_CAS_ROUNDS = 16;
const MAX_LISTED = 10_000;

export function jobKey(id: string): Buffer {
  if (!ID.test(id)) throw new JobRecordError(`job id ${JSON.stringify(id)} is not 32 lowercase hex digits`);
  return Buffer.from(id, 'hex');
}

export function newJobId(): string {
  return randomBytes(16).toString('hex');
}

export async function createJob(
  db: JobsDb,
  kind: JobKind,
  params: JobParams = {},
  now = Date.now(),
): Promise<JobRecord> {
  if (!isJobKind(kind)) throw new JobRecordError(`unknown job kind ${JSON.stringify(kind)}`);
  const record: JobRecord = {
    v: JOB_FORMAT,
    id: newJobId(),
    kind,
    params,
    state: 'queued',
    created: now,
    updated: now,
    progress: { done: 0, bytes: 0, unit: 'items' },
  };
  const key = jobKey(record.id);
  const r = await db.batch(
    [{ kind: 'absent', table: JOBS_TABLE, key }],
    [{ kind: 'put', table: JOBS_TABLE, key, value: encodeJobRecord(record) }],
  );
  if (!r.ok) throw new JobConflictError(`job id ${record.id} already exists`, undefined);
  return record;
}

export async function getJob(db: JobsDb, id: string): Promise<JobRecord | undefined> {
  const got = await db.get(JOBS_TABLE, jobKey(id));
  return got ? decodeJobRecord(got.value) : undefined;
}

export interface ListJobsOptions {
  /** Most recent first; default 100. */
  limit?: number;
  states?: JobRecord['state'][];
  kinds?: JobKind[];
  /** Read the contacted node's state without a ReadIndex round (the runner's polling). */
  stale?: boolean;
}

/** Jobs, newest first. Records that do not decode are skipped (a newer format). */
export async function listJobs(db: JobsDb, opts: ListJobsOptions = {}): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let startAfter: Uint8Array | undefined;
  for (let page = 0; page < 1000 && out.length < MAX_LISTED; page++) {
    const got = await db.scan(JOBS_TABLE, {
      limit: 500,
      ...(startAfter ? { startAfter } : {}),
      ...(opts.stale ? { stale: true } : {}),
    });
    for (const item of got.items) {
      let record: JobRecord;
      try {
        record = decodeJobRecord(item.value);
      } catch {
        continue;
      }
      if (opts.states && !opts.states.includes(record.state)) continue;
      if (opts.kinds && !opts.kinds.includes(record.kind)) continue;
      out.push(record);
    }
    if (!got.truncated || !got.nextStartAfter) break;
    startAfter = got.nextStartAfter;
  }
  out.sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : 1));
  return out.slice(0, opts.limit ?? 100);
}

/**
 * Store `next` in place of `expected`, only if the stored bytes still are `expected`'s.
 * Throws JobConflictError (with the current record) otherwise.
 */
async function compareAndSet(db: JobsDb, expected: JobRecord, next: JobRecord): Promise<JobRecord> {
  const key = jobKey(expected.id);
  const r = await db.batch(
    [{ kind: 'valueEquals', table: JOBS_TABLE, key, value: encodeJobRecord(expected) }],
    [{ kind: 'put', table: JOBS_TABLE, key, value: encodeJobRecord(next) }],
  );
  if (r.ok) return next;
  throw new JobConflictError(`job ${expected.id} changed meanwhile`, await getJob(db, expected.id));
}

/** Read-modify-write with retries on conflict; `change` returns the new record or undefined for "leave it". */
async function update(
  db: JobsDb,
  id: string,
  change: (current: JobRecord) => JobRecord | undefined,
): Promise<JobRecord> {
  let current = await getJob(db, id);
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    if (!current) throw new JobNotFoundError(id);
    const next = change(current);
    if (!next) return current;
    try {
      return await compareAndSet(db, current, next);
    } catch (e) {
      if (!(e instanceof JobConflictError)) throw e;
      current = e.current;
    }
  }
  throw new JobConflictError(`job ${id} kept changing; gave up after ${MAX_CAS_ROUNDS} attempts`, current);
}

/**
 * Ask the job to stop. A queued job stops at once ('stopped'); a running one goes to 'stopping' and
 * its runner saves the cursor and sets 'stopped'. Finished jobs are returned unchanged.
 */
export function requestStop(db: JobsDb, id: string, now = Date.now()): Promise<JobRecord> {
  return update(db, id, (r) => {
    if (r.state === 'queued') return { ...r, state: 'stopped', updated: now };
    if (r.state === 'running') return { ...r, state: 'stopping', updated: now };
    return undefined;
  });
}

/** Queue a stopped or failed job again; it resumes from its cursor. */
export function resumeJob(db: JobsDb, id: string, now = Date.now()): Promise<JobRecord> {
  return update(db, id, (r) => {
    if (r.state === 'queued' || r.state === 'running') return undefined;
    if (r.state !== 'stopped' && r.state !== 'failed')
      throw new JobStateError(`job ${id} is ${r.state}; only stopped or failed jobs resume`, r);
    const next: JobRecord = { ...r, state: 'queued', updated: now };
    delete next.owner;
    delete next.leaseUntil;
    delete next.error;
    return next;
  });
}

/**
 * Take the job for `owner` with a lease of `leaseMs`: a queued job, one whose lease expired, or one
 * `owner` itself held before it restarted (running/stopping with its name: the new process takes it
 * back at once — the caller must not already be running it). Returns the claimed record, or
 * undefined when it is not claimable or another appliance won.
 */
export async function claimJob(
  db: JobsDb,
  id: string,
  owner: string,
  leaseMs: number,
  now = Date.now(),
): Promise<JobRecord | undefined> {
  const current = await getJob(db, id);
  if (!current) return undefined;
  const own = (current.state === 'running' || current.state === 'stopping') && current.owner === owner;
  if (!own && !isClaimable(current, now)) return undefined;
  const next: JobRecord = {
    ...current,
    state: current.state === 'stopping' ? 'stopping' : 'running',
    owner,
    leaseUntil: now + leaseMs,
    updated: now,
  };
  try {
    return await compareAndSet(db, current, next);
  } catch (e) {
    if (e instanceof JobConflictError) return undefined;
    throw e;
  }
}

/**
 * Save progress (and/or state, lease, cursor, result) of a job the caller holds as `record`.
 * Compare-and-set on `record`'s bytes: throws JobConflictError with the current record when anything
 * changed it meanwhile (a stop request, a takeover after the lease expired).
 */
export function renewJob(
  db: JobsDb,
  record: JobRecord,
  patch: JobPatch,
  now = Date.now(),
): Promise<JobRecord> {
  const next: JobRecord = { ...record, ...patch, updated: now };
  for (const name of Object.keys(patch) as (keyof JobPatch)[])
    if (patch[name] === undefined) delete next[name];
  return compareAndSet(db, record, next);
}

/** Delete a finished job's record. */
export async function deleteJob(db: JobsDb, id: string): Promise<boolean> {
  const current = await getJob(db, id);
  if (!current) return false;
  if (current.state === 'running' || current.state === 'stopping')
    throw new JobStateError(`job ${id} is ${current.state}; stop it first`, current);
  const key = jobKey(id);
  const r = await db.batch(
    [{ kind: 'valueEquals', table: JOBS_TABLE, key, value: encodeJobRecord(current) }],
    [{ kind: 'delete', table: JOBS_TABLE, key }],
  );
  if (!r.ok) throw new JobConflictError(`job ${id} changed meanwhile`, await getJob(db, id));
  return true;
}
