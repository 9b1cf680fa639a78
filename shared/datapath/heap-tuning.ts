// V8 heap growth for a process that moves large objects: the gateway (the distributed backend sets it)
// and, measured, the appliances too (docs/perf.md, "GC"; test/bench/results/s3.md).
//
// The data path allocates Buffers at the rate of the data (Node's HTTP and TLS read buffers, the GET
// windows) while the JS heap stays small (≈ 22 MB live). Measured (--trace-gc beside
// v8.getHeapSpaceStatistics every 100 ms): V8 ran a full mark-compact each time ArrayBuffer memory had
// grown by ≈ 10–20 MB — 25–40 per 256 MiB PUT+GET, 29 % of the gateway's PUT CPU and 42 % of its GET
// CPU — with the old generation flat and the young generation far from full. A larger heap growing
// factor moves V8's next full-GC limit further ahead of the live size and spaces them out (5–7
// instead of 34–99 at 400 %, 10–13 at the default 200 %); the price is that dead Buffers wait longer
// to be freed: 400 % once took the gateway to 308 MiB during a 2 GiB PUT (target 300), 200 % 250–261.
import { setFlagsFromString } from 'node:v8';

/** Default `--heap-growing-percent` the distributed backend sets: next full-GC limit = 3 × live heap. */
export const DEFAULT_HEAP_GROWING_PERCENT = 200;

let applied: number | undefined;

/** Whether node was started with its own `--heap-growing-percent` (then we leave it alone). */
export function heapGrowthSetByOperator(execArgv: readonly string[] = process.execArgv): boolean {
  // V8 flags are not allowed in NODE_OPTIONS: the command line is the only place it can come from.
  return execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/**
 * Sets V8's heap growing percent for this process (0 = leave V8's default). Once per process; later
 * calls with another value are ignored (the first backend decides). Returns the value in effect, or
 * undefined when V8's default (or the operator's flag) applies.
 */
export function tuneHeapGrowth(percent: number = DEFAULT_HEAP_GROWING_PERCENT): number | undefined {
  if (!Number.isSafeInteger(percent) || percent < 0 || percent > 10_000) {
    throw new RangeError(`heapGrowingPercent must be an integer in 0..10000, got ${percent}`);
  }
  if (applied !== undefined || percent === 0 || heapGrowthSetByOperator()) return applied;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  applied = percent;
  return applied;
}
