// Checks an EMF line against the Embedded Metric Format rules (used by the unit and Lambda tests).
import assert from 'node:assert/strict';
import { EMF_NAMESPACE } from '../../../shared/metrics/index.ts';
import type { EmfLine } from '../../../shared/metrics/index.ts';

/** Checks a line against the EMF specification's rules and returns it parsed. */
export function parseEmfLine(text: string): EmfLine {
  const line = JSON.parse(text) as EmfLine;
  const meta = line._aws;
  assert.equal(typeof meta.Timestamp, 'number');
  assert.equal(meta.CloudWatchMetrics.length, 1);
  const directive = meta.CloudWatchMetrics[0]!;
  assert.equal(directive.Namespace, EMF_NAMESPACE);
  for (const set of directive.Dimensions)
    for (const name of set) assert.equal(typeof line[name], 'string', `dimension ${name} is a string member`);
  for (const metric of directive.Metrics) {
    const value = line[metric.Name];
    const values = Array.isArray(value) ? value : [value];
    assert.ok(values.length >= 1 && values.length <= 100, `${metric.Name}: 1-100 values`);
    for (const v of values)
      assert.ok(typeof v === 'number' && Number.isFinite(v), `${metric.Name} is numeric`);
  }
  return line;
}
