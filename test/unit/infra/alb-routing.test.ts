// The ALB rules that send large uploads to the hosts' gateways: the digit patterns must match
// exactly the lengths at or above the threshold, and the threshold must not exceed what the
// Lambda ALB target accepts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALB_LAMBDA_BODY_LIMIT,
  hostRoutingRules,
  lengthPatternsBelow,
} from '../../../infra/sst/alb-routing.ts';
import { MAX_REQUEST_BODY } from '../../../gateway/lambda/limits.ts';

/** ALB's wildcard match: `?` one character, `*` any run, case-insensitive, whole value. */
function albMatches(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\?/g, '.')
    .replace(/\*/g, '.*');
  return new RegExp(`^${source}$`, 'i').test(value);
}

describe('ALB routing of large uploads to the hosts', () => {
  it('uses the Lambda ALB limit of the gateway', () => {
    assert.equal(ALB_LAMBDA_BODY_LIMIT, MAX_REQUEST_BODY.alb);
  });

  it('length patterns match exactly the lengths at or above the threshold', () => {
    for (const limit of [ALB_LAMBDA_BODY_LIMIT, 10, 99, 1_000_000, 5_242_880]) {
      const { threshold, patterns } = lengthPatternsBelow(limit);
      assert.ok(threshold <= limit && threshold > limit / 10, `threshold ${threshold} for ${limit}`);
      const samples = [0, 1, threshold - 1, threshold, threshold + 1, limit, limit + 1, 10 * limit, 2 ** 40];
      for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 20 * limit));
      for (const n of samples) {
        const routed = patterns.some((p) => albMatches(p, String(n)));
        assert.equal(
          routed,
          n >= threshold,
          `length ${n} (threshold ${threshold}, patterns ${patterns.join(',')})`,
        );
      }
    }
  });

  it('rules: multipart, unknown length and large declared lengths; ≤ 5 values per condition, unique priorities', () => {
    const rules = hostRoutingRules();
    const priorities = new Set(rules.map((r) => r.priority));
    assert.equal(priorities.size, rules.length);
    for (const rule of rules) {
      const values =
        'httpHeader' in rule.condition ? rule.condition.httpHeader.values : rule.condition.queryStrings;
      assert.ok(values.length >= 1 && values.length <= 5, rule.reason);
    }
    const headerRule = (name: string) =>
      rules.filter((r) => 'httpHeader' in r.condition && r.condition.httpHeader.httpHeaderName === name);
    assert.ok(headerRule('Content-Length').length >= 1);
    assert.ok(headerRule('X-Amz-Decoded-Content-Length').length >= 1);
    assert.ok(headerRule('Transfer-Encoding').length === 1);
    const queryKeys = rules.flatMap((r) => ('queryStrings' in r.condition ? r.condition.queryStrings : []));
    assert.deepEqual(queryKeys.map((q) => q.key).sort(), ['uploadId', 'uploads']);
  });
});
