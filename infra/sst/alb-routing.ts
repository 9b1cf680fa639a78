// Which requests the ALB sends to the long-running gateways on the hosts instead of the Lambda
// target (pure). The Lambda behind an ALB takes at most 720 KiB of body (gateway/lambda/limits.ts),
// so uploads that may be larger go to the hosts: multipart requests, bodies whose declared length
// reaches the limit, and bodies of unknown length. ALB rules cannot compare numbers; they match
// header values with `?` (one character) and `*` (any run), so "at least N bytes" is written as
// digit patterns, at most five values per condition.

/** Must equal MAX_REQUEST_BODY.alb in gateway/lambda/limits.ts (a unit test holds them together). */
export const ALB_LAMBDA_BODY_LIMIT = 720 * 1024;

export interface HostRoutingRule {
  priority: number;
  /** Why the rule exists (becomes the rule's Name tag). */
  reason: string;
  condition:
    | { httpHeader: { httpHeaderName: string; values: string[] } }
    | { queryStrings: Array<{ key: string; value: string }> };
}

/**
 * Wildcard patterns matching exactly the decimal lengths ≥ the returned threshold, the largest
 * "leading digit then zeros" number not above `limit` (737 280 → 700 000: 7?????, 8?????, 9?????, ???????*).
 */
export function lengthPatternsBelow(limit: number): { threshold: number; patterns: string[] } {
  if (!Number.isSafeInteger(limit) || limit < 10)
    throw new RangeError(`limit must be an integer ≥ 10, got ${limit}`);
  const digits = String(limit).length;
  const lead = Number(String(limit)[0]);
  const patterns: string[] = [];
  for (let d = lead; d <= 9; d++) patterns.push(`${d}${'?'.repeat(digits - 1)}`);
  patterns.push(`${'?'.repeat(digits + 1)}*`);
  return { threshold: lead * 10 ** (digits - 1), patterns };
}

export function hostRoutingRules(limit = ALB_LAMBDA_BODY_LIMIT): HostRoutingRule[] {
  const { patterns } = lengthPatternsBelow(limit);
  const chunks: string[][] = [];
  for (let i = 0; i < patterns.length; i += 5) chunks.push(patterns.slice(i, i + 5));
  const rules: HostRoutingRule[] = [
    {
      priority: 10,
      reason: 'multipart-parts',
      condition: { queryStrings: [{ key: 'uploadId', value: '*' }] },
    },
    {
      priority: 11,
      reason: 'multipart-uploads',
      condition: { queryStrings: [{ key: 'uploads', value: '*' }] },
    },
    {
      priority: 12,
      reason: 'unknown-length',
      condition: { httpHeader: { httpHeaderName: 'Transfer-Encoding', values: ['*chunked*'] } },
    },
  ];
  chunks.forEach((values, i) => {
    rules.push({
      priority: 20 + i,
      reason: `large-body-${i}`,
      condition: { httpHeader: { httpHeaderName: 'Content-Length', values } },
    });
    // aws-chunked uploads declare the object size here; Content-Length then counts the framing too.
    rules.push({
      priority: 40 + i,
      reason: `large-decoded-body-${i}`,
      condition: { httpHeader: { httpHeaderName: 'X-Amz-Decoded-Content-Length', values } },
    });
  });
  return rules;
}
