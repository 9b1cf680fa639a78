// The progress line of a job being followed (pure): done/total, a bar, rate and ETA. On a terminal it
// is redrawn in place; otherwise one plain line is printed now and then.
import { formatBytes, formatDuration } from '../../gateway/admin/format.ts';

export interface ProgressView {
  kind: string;
  state: string;
  done: number;
  total?: number;
  bytes: number;
  unit: string;
}

/** Rate over a sliding window of (time, done, bytes) samples. */
export class RateEstimator {
  private readonly samples: Array<{ at: number; done: number; bytes: number }> = [];

  constructor(private readonly windowMs = 15_000) {}

  add(at: number, done: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1];
    // A job that was resumed or taken over may report less than before: start over.
    if (last !== undefined && (done < last.done || at < last.at)) this.samples.length = 0;
    this.samples.push({ at, done, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  /** Units and bytes per second, or undefined until two samples at least 500 ms apart exist. */
  rate(): { perSecond: number; bytesPerSecond: number } | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < 500) return undefined;
    const seconds = (last.at - first.at) / 1000;
    return {
      perSecond: (last.done - first.done) / seconds,
      bytesPerSecond: (last.bytes - first.bytes) / seconds,
    };
  }
}

/** Seconds left at `perSecond`, or undefined when it cannot be told (no total, no progress). */
export function etaSeconds(
  done: number,
  total: number | undefined,
  perSecond: number | undefined,
): number | undefined {
  if (total === undefined || perSecond === undefined || !(perSecond > 0)) return undefined;
  return Math.max(0, (total - done) / perSecond);
}

function rateText(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

export function renderBar(done: number, total: number, width: number): string {
  const fraction = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** `gc running [#####.....] 120/240 records 50%  12.0 records/s  3.1 MiB/s  ETA 10s` */
export function renderProgress(
  view: ProgressView,
  rate: { perSecond: number; bytesPerSecond: number } | undefined,
  options: { barWidth?: number } = {},
): string {
  const parts = [`${view.kind} ${view.state}`];
  if (view.total !== undefined) {
    const pct = view.total > 0 ? Math.floor((Math.min(view.done, view.total) / view.total) * 100) : 100;
    parts.push(renderBar(view.done, view.total, options.barWidth ?? 24));
    parts.push(`${view.done}/${view.total} ${view.unit} ${pct}%`);
  } else {
    parts.push(`${view.done} ${view.unit}`);
  }
  if (view.bytes > 0) parts.push(formatBytes(view.bytes));
  if (rate !== undefined) {
    parts.push(`${rateText(rate.perSecond)} ${view.unit}/s`);
    if (rate.bytesPerSecond > 0) parts.push(`${formatBytes(rate.bytesPerSecond)}/s`);
  }
  const eta = etaSeconds(view.done, view.total, rate?.perSecond);
  if (eta !== undefined && view.state === 'running') parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join('  ');
}
