// heap-tuning.ts: the operator's own flag wins, bad values are refused, the value is applied once per
// process. Its effect on the gateway (full GCs per 256 MiB) is measured by the bench (docs/perf.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { heapGrowthSetByOperator, tuneHeapGrowth } from '../../../shared/datapath/heap-tuning.ts';

test('an explicit --heap-growing-percent on the node command line is left alone', () => {
  assert.equal(heapGrowthSetByOperator(['--heap-growing-percent=50']), true);
  assert.equal(heapGrowthSetByOperator(['--heap_growing_percent', '50']), true);
  assert.equal(heapGrowthSetByOperator(['--import', 'tsx', '--max-old-space-size=100']), false);
});

test('out-of-range values are refused', () => {
  for (const bad of [-1, 1.5, 10_001, Number.NaN]) assert.throws(() => tuneHeapGrowth(bad), RangeError);
});

test('applied once per process: 0 leaves the default, the first value sticks', () => {
  assert.equal(tuneHeapGrowth(0), undefined);
  assert.equal(tuneHeapGrowth(300), 300);
  assert.equal(tuneHeapGrowth(100), 300);
});

test('a process started with the flag keeps it (child process)', () => {
  const module = fileURLToPath(new URL('../../../shared/datapath/heap-tuning.ts', import.meta.url));
  const code = `const m = await import(${JSON.stringify(module)}); process.stdout.write(String(m.tuneHeapGrowth(400)));`;
  const run = (...flags: string[]): string => {
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(run('--heap-growing-percent=50'), 'undefined');
  assert.equal(run(), '400');
});
