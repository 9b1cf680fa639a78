// The job record kept in s3db table `pd.jobs` (pure codec). Versioned JSON, zod-checked: a damaged or
// foreign record is a typed error. The encoder writes keys in one fixed order, so the bytes of a
// decoded record re-encode to the stored bytes — the compare-and-set of claim/renew relies on it.
import { z } from 'zod';

export const JOBS_TABLE = 'pd.jobs';
export const JOB_FORMAT = 1;

export const JOB_KINDS = ['repair', 'scrub', 'gc', 'compact', 'rebalance', 'drain', 'migrate-rs'] as const;
export const JOB_STATES = ['queued', 'running', 'stopping', 'stopped', 'done', 'failed'] as const;

export type JobKind = (typeof JOB_KINDS)[number];
export type JobState = (typeof JOB_STATES)[number];

export class JobRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobRecordError';
  }
}

const hex32 = z.string().regex(/^[0-9a-f]{32}$/);
const ms = z.number().int().nonnegative();
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const progressSchema = z.object({
  done: z.number().nonnegative(),
  total: z.number().nonnegative().optional(),
  bytes: z.number().nonnegative(),
  unit: z.string(),
});

const jobSchema = z.object({
  v: z.literal(JOB_FORMAT),
  id: hex32,
  kind: z.enum(JOB_KINDS),
  params: z.record(z.string(), scalar),
  state: z.enum(JOB_STATES),
  created: ms,
  updated: ms,
  owner: z.string().min(1).optional(),
  leaseUntil: ms.optional(),
  progress: progressSchema,
  cursor: z
    .string()
    .regex(/^[0-9a-f]*$/)
    .optional(),
  error: z.string().optional(),
  result: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

export type JobProgress = z.infer<typeof progressSchema>;
export type JobRecord = z.infer<typeof jobSchema>;
export type JobParams = JobRecord['params'];

/** The record in canonical key order (optional fields only when set). */
function canonical(r: JobRecord): Record<string, unknown> {
  const progress: Record<string, unknown> = { done: r.progress.done };
  if (r.progress.total !== undefined) progress['total'] = r.progress.total;
  progress['bytes'] = r.progress.bytes;
  progress['unit'] = r.progress.unit;
  const out: Record<string, unknown> = {
    v: r.v,
    id: r.id,
    kind: r.kind,
    params: sortedObject(r.params),
    state: r.state,
    created: r.created,
    updated: r.updated,
  };
  if (r.owner !== undefined) out['owner'] = r.owner;
  if (r.leaseUntil !== undefined) out['leaseUntil'] = r.leaseUntil;
  out['progress'] = progress;
  if (r.cursor !== undefined) out['cursor'] = r.cursor;
  if (r.error !== undefined) out['error'] = r.error;
  if (r.result !== undefined) out['result'] = sortedObject(r.result);
  return out;
}

function sortedObject<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

export function encodeJobRecord(record: JobRecord): Uint8Array {
  const checked = jobSchema.safeParse(record);
  if (!checked.success) throw invalid(checked.error);
  return Buffer.from(JSON.stringify(canonical(checked.data)), 'utf8');
}

export function decodeJobRecord(bytes: Uint8Array): JobRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new JobRecordError('job record is not valid JSON', { cause: error });
  }
  const result = jobSchema.safeParse(parsed);
  if (!result.success) throw invalid(result.error);
  return result.data;
}

function invalid(error: z.ZodError): JobRecordError {
  const issue = error.issues[0];
  return new JobRecordError(
    `job record is invalid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`,
  );
}

export function isJobKind(value: string): value is JobKind {
  return (JOB_KINDS as readonly string[]).includes(value);
}

/** Finished states: nothing runs them and claim never takes them. */
export function isFinal(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'stopped';
}

/**
 * Whether an appliance may take the job now: queued, or running/stopping under a lease that expired
 * (its owner died). A 'stopping' job with an expired lease is taken only to be marked 'stopped'.
 */
export function isClaimable(record: JobRecord, now: number): boolean {
  if (record.state === 'queued') return true;
  if (record.state === 'running' || record.state === 'stopping')
    return record.leaseUntil === undefined || record.leaseUntil <= now;
  return false;
}
