// HTTP Range for GetObject, as S3 does it: a single `bytes=` range (first-last, first-, -suffix).
// Syntactically invalid or multi-range headers are ignored (the whole object is served);
// a well-formed range that selects no byte of the object is 416 InvalidRange.
import { InvalidRange } from '../errors.ts';
import type { ByteRange } from '../backend/types.ts';

export type RangeSpec = { kind: 'from'; first: number; last?: number } | { kind: 'suffix'; length: number };

/** Parses the header; undefined means "no usable range: serve the whole object". */
export function parseRangeHeader(header: string | undefined): RangeSpec | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return undefined;
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '' && lastText === '') return undefined;
  if (firstText === '') {
    const length = Number(lastText);
    return Number.isSafeInteger(length) ? { kind: 'suffix', length } : undefined;
  }
  const first = Number(firstText);
  if (!Number.isSafeInteger(first)) return undefined;
  if (lastText === '') return { kind: 'from', first };
  const last = Number(lastText);
  if (!Number.isSafeInteger(last) || last < first) return undefined;
  return { kind: 'from', first, last };
}

/** Resolves a parsed range against the object size; throws InvalidRange when unsatisfiable. */
export function resolveRange(spec: RangeSpec, size: number): ByteRange {
  if (spec.kind === 'suffix') {
    if (spec.length === 0 || size === 0) throw InvalidRange(size);
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.first >= size) throw InvalidRange(size);
  const end = spec.last === undefined ? size - 1 : Math.min(spec.last, size - 1);
  return { start: spec.first, end };
}

export function contentRangeHeader(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
