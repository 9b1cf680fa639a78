// Follows a job until it ends: polls it, draws the progress on stderr (redrawn in place on a
// terminal, a plain line every few seconds otherwise), and returns the final record.
import type { JobRecord } from '../../shared/jobs/index.ts';
import { RateEstimator, renderProgress } from './progress.ts';

export interface FollowOptions {
  fetch: () => Promise<JobRecord>;
  /** Raw writes to stderr. */
  write: (text: string) => void;
  isTTY: boolean;
  intervalMs: number;
  /** Resolves `follow` early with `interrupted: true` (Ctrl-C). */
  signal?: AbortSignal;
  /** Plain (non-TTY) lines at most this often. Default 5 s. */
  plainEveryMs?: number;
  now?: () => number;
}

export type FollowResult =
  { interrupted: false; record: JobRecord } | { interrupted: true; record: JobRecord | undefined };

const FINAL = new Set(['done', 'failed', 'stopped']);
/** Consecutive poll failures tolerated (gateway restart, leader change) before giving up. */
const MAX_POLL_FAILURES = 30;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function followJob(options: FollowOptions): Promise<FollowResult> {
  const now = options.now ?? Date.now;
  const rates = new RateEstimator();
  let last: JobRecord | undefined;
  let lastPlain = -Infinity;
  let lastPlainText = '';
  let failures = 0;
  let drawn = false;
  const draw = (record: JobRecord, final: boolean): void => {
    const line = renderProgress({ kind: record.kind, state: record.state, ...record.progress }, rates.rate());
    if (options.isTTY) {
      options.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      drawn = !final;
    } else if (final || now() - lastPlain >= (options.plainEveryMs ?? 5000)) {
      if (line !== lastPlainText || final) options.write(`${line}\n`);
      lastPlain = now();
      lastPlainText = line;
    }
  };
  for (let polls = 0; polls < 10_000_000; polls++) {
    if (options.signal?.aborted) {
      if (drawn) options.write('\n');
      return { interrupted: true, record: last };
    }
    try {
      const record = await options.fetch();
      failures = 0;
      last = record;
      rates.add(now(), record.progress.done, record.progress.bytes);
      const final = FINAL.has(record.state);
      draw(record, final);
      if (final) return { interrupted: false, record };
    } catch (error) {
      if (++failures >= MAX_POLL_FAILURES) throw error;
    }
    await sleep(options.intervalMs, options.signal);
  }
  throw new Error('gave up following the job');
}
