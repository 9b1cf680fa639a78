import { z } from 'zod';
import { formatKeyPath } from './errors.ts';
import type { ProblemList } from './errors.ts';

// Turns zod issues into messages written for someone editing a TOML file.

/**
 * Validates `value` (found at `at` in the file) against `schema`. Problems go to `problems`;
 * the parsed value is returned when there were none.
 */
export function checkSection<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: readonly PropertyKey[],
  problems: ProblemList,
): T | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) reportUnknownKey([...at, ...issue.path, key], known, problems);
      continue;
    }
    problems.add(formatKeyPath([...at, ...issue.path]), describeIssue(issue));
  }
  return undefined;
}

export function reportUnknownKey(
  path: readonly PropertyKey[],
  known: readonly string[],
  problems: ProblemList,
): void {
  const key = path[path.length - 1];
  const hint = typeof key === 'string' ? closestKey(key, known) : undefined;
  problems.add(
    formatKeyPath(path),
    hint === undefined ? 'unknown key' : `unknown key (did you mean "${hint}"?)`,
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'missing (required)';
      return `must be ${typeName(issue.expected)}, got ${got}`;
    }
    case 'too_small': {
      if (issue.origin === 'string')
        return issue.minimum === 1
          ? 'must not be empty'
          : `must be at least ${issue.minimum} characters long`;
      if (issue.origin === 'array')
        return issue.minimum === 1 ? 'must not be empty' : `must have at least ${issue.minimum} entries`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}, got ${got}`;
    }
    case 'too_big': {
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${got}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'invalid_format':
      return `${issue.message}, got ${got}`;
    default:
      return issue.message;
  }
}

function typeName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'an array';
    case 'object':
      return 'a table';
    default:
      return expected;
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  return 'a table';
}

/** The keys the schema allows in the table at `path` (array indexes are skipped through). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const part of path) {
    if (node === undefined) return [];
    if (typeof part === 'number')
      node = node instanceof z.ZodArray ? unwrap(node.element as z.ZodType) : undefined;
    else if (node instanceof z.ZodObject) {
      const child = (node.shape as Record<string, z.ZodType | undefined>)[String(part)];
      node = child === undefined ? undefined : unwrap(child);
    } else node = undefined;
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape as Record<string, unknown>) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 8 && (s instanceof z.ZodOptional || s instanceof z.ZodDefault); i++)
    s = s.unwrap() as z.ZodType;
  return s;
}

export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const above = rows[i - 1] ?? [];
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row[j] = best;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
