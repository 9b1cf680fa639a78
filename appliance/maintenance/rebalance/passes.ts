// The scan loop shared by the rebalance, drain and migrate-rs jobs: passes over every object record,
// page by page, doing each object's work; progress (units done/total, bytes) and a resumable cursor
// through the job context. Records written meanwhile by a gateway that still had the old ring are
// caught by later passes: the job ends with a pass that finds no work and started at least `settleMs`
// after the ring last changed (every gateway has re-read it by then), or fails after `maxPasses`.
import { TABLES } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord } from '../../../shared/metadata/records.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { logLine } from './context.ts';
import type { ProgressPatch, RebalanceJobContext } from './context.ts';
import type { StoredObject } from './move-chunk.ts';
import { splitObjectKey } from './plan.ts';

export interface ObjectStats {
  /** Units (chunks) finished. */
  done: number;
  bytes: number;
  /** Units skipped because another move of them is in flight, failed, or found the record changed. */
  busy: number;
  failed: number;
  changed: number;
  errors: string[];
}

export interface PassPlan {
  /** Units of work the object needs (0: none). */
  count(obj: StoredObject): number;
  run(obj: StoredObject): Promise<ObjectStats>;
  /** Called after each page's objects are done (e.g. to flush batched writes). */
  afterPage?(): Promise<void>;
  /** When the ring (or scheme) this pass works towards last changed (ms). */
  changedAt: number;
}

export interface PassOptions {
  unit: string;
  maxPasses: number;
  settleMs: number;
  concurrency: number;
  /** Cap on bytes written per second (0: none). */
  bytesPerSecond: number;
  pageSize?: number;
  preparePass(): Promise<PassPlan>;
}

export interface PassResult {
  passes: number;
  done: number;
  bytes: number;
  failed: number;
  busy: number;
  changed: number;
  lastError?: string;
}

interface CursorState {
  pass: number;
  /** Hex objects-table key the current pass has finished through. */
  after?: string;
  done: number;
  bytes: number;
  failed: number;
  busy: number;
  changed: number;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('hex');
}

export function decodeCursor(hex: string | undefined): CursorState | undefined {
  if (hex === undefined || hex.length === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as Partial<CursorState>;
    if (typeof parsed.pass !== 'number' || typeof parsed.done !== 'number') return undefined;
    return {
      pass: parsed.pass,
      ...(typeof parsed.after === 'string' ? { after: parsed.after } : {}),
      done: parsed.done,
      bytes: parsed.bytes ?? 0,
      failed: parsed.failed ?? 0,
      busy: parsed.busy ?? 0,
      changed: parsed.changed ?? 0,
    };
  } catch {
    return undefined;
  }
}

export class JobStoppedError extends Error {
  constructor() {
    super('the job was asked to stop');
    this.name = 'JobStoppedError';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function* records(
  db: Pick<S3dbClient, 'scan'>,
  after: string | undefined,
  pageSize: number,
): AsyncGenerator<{ objects: StoredObject[]; lastKey: string }> {
  let startAfter = after === undefined ? undefined : Buffer.from(after, 'hex');
  for (let pages = 0; pages < 10_000_000; pages++) {
    const page = await db.scan(TABLES.objects, { limit: pageSize, ...(startAfter ? { startAfter } : {}) });
    const objects: StoredObject[] = [];
    for (const item of page.items) {
      const { bucket, key } = splitObjectKey(item.key);
      objects.push({ bucket, key, record: decodeObjectRecord(item.value), version: item.version });
    }
    const last = page.items[page.items.length - 1];
    if (last !== undefined) yield { objects, lastKey: Buffer.from(last.key).toString('hex') };
    if (!page.truncated || last === undefined) return;
    startAfter = Buffer.from(last.key);
  }
}

export async function runPasses(ctx: RebalanceJobContext, options: PassOptions): Promise<PassResult> {
  const pageSize = options.pageSize ?? 200;
  const state: CursorState = decodeCursor(ctx.job.cursor) ?? {
    pass: 0,
    done: 0,
    bytes: 0,
    failed: 0,
    busy: 0,
    changed: 0,
  };
  let lastError: string | undefined;
  const started = Date.now();
  const bytesAtStart = state.bytes;
  const report = async (patch: ProgressPatch = {}): Promise<void> => {
    await ctx.progress({
      done: state.done,
      bytes: state.bytes,
      unit: options.unit,
      cursor: encodeCursor(state),
      ...patch,
    });
  };
  for (; state.pass < options.maxPasses; state.pass++) {
    if (ctx.signal.aborted) throw new JobStoppedError();
    const plan = await options.preparePass();
    const passStarted = Date.now();
    const failedBefore = state.failed;
    let remaining = 0;
    for await (const page of records(ctx.db, state.after, pageSize))
      for (const obj of page.objects) remaining += plan.count(obj);
    await report({ total: state.done + remaining });
    logLine(ctx, `pass ${state.pass + 1}: ${remaining} ${options.unit} to do (${state.done} done so far)`);
    let needed = 0;
    for await (const page of records(ctx.db, state.after, pageSize)) {
      const queue = page.objects.filter((obj) => plan.count(obj) > 0);
      needed += queue.length;
      const workers = Array.from({ length: Math.max(1, options.concurrency) }, async () => {
        for (let obj = queue.shift(); obj !== undefined; obj = queue.shift()) {
          if (ctx.signal.aborted) return;
          const stats = await plan.run(obj);
          state.done += stats.done;
          state.bytes += stats.bytes;
          state.failed += stats.failed;
          state.busy += stats.busy;
          state.changed += stats.changed;
          if (stats.errors.length > 0) lastError = stats.errors[stats.errors.length - 1];
          if (options.bytesPerSecond > 0) {
            const due = started + ((state.bytes - bytesAtStart) / options.bytesPerSecond) * 1000;
            await sleep(due - Date.now(), ctx.signal);
          }
        }
      });
      await Promise.all(workers);
      await plan.afterPage?.();
      if (ctx.signal.aborted) {
        await report();
        throw new JobStoppedError();
      }
      state.after = page.lastKey;
      await report();
    }
    delete state.after;
    if (state.failed > failedBefore)
      logLine(ctx, `pass ${state.pass + 1}: ${state.failed - failedBefore} failed; last error: ${lastError}`);
    if (needed === 0) {
      if (passStarted >= plan.changedAt + options.settleMs) {
        state.pass++;
        await report({ total: state.done });
        return {
          passes: state.pass,
          done: state.done,
          bytes: state.bytes,
          failed: state.failed,
          busy: state.busy,
          changed: state.changed,
        };
      }
      await sleep(plan.changedAt + options.settleMs - Date.now(), ctx.signal);
    }
  }
  await report();
  throw new Error(
    `work remained after ${options.maxPasses} passes (${state.failed} failed, ${state.busy} busy)${lastError ? `; last error: ${lastError}` : ''}`,
  );
}
