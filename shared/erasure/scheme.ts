import { ErasureError } from './errors.ts';

/** RS(k, m): k data segments and m parity segments per stripe. */
export interface RsScheme {
  readonly k: number;
  readonly m: number;
}

/** Limits of @ronomon/reed-solomon (MAX_K, MAX_M). */
export const MAX_DATA_SHARDS = 24;
export const MAX_PARITY_SHARDS = 6;
/** Full segment size (DESIGN.md §3). */
export const SEGMENT_SIZE = 64 * 1024;
/** The library needs every segment length to be a multiple of this. */
export const SEGMENT_ALIGNMENT = 8;

export const RS_2_1: RsScheme = Object.freeze({ k: 2, m: 1 });
export const RS_3_2: RsScheme = Object.freeze({ k: 3, m: 2 });
export const DEFAULT_SCHEME = RS_2_1;

/** Returns `scheme` if it is usable, else throws ErasureError('BAD_SCHEME'). */
export function validateScheme(scheme: RsScheme): RsScheme {
  const { k, m } = scheme;
  if (!Number.isInteger(k) || k < 1 || k > MAX_DATA_SHARDS) {
    throw new ErasureError(
      'BAD_SCHEME',
      `RS data shards must be an integer in 1..${MAX_DATA_SHARDS}, got ${k}`,
    );
  }
  if (!Number.isInteger(m) || m < 1 || m > MAX_PARITY_SHARDS) {
    throw new ErasureError(
      'BAD_SCHEME',
      `RS parity shards must be an integer in 1..${MAX_PARITY_SHARDS}, got ${m}`,
    );
  }
  return scheme;
}

export function schemeName(scheme: RsScheme): string {
  return `RS(${scheme.k},${scheme.m})`;
}

/** Smallest multiple of SEGMENT_ALIGNMENT that is ≥ n. */
export function alignSegmentLength(n: number): number {
  return Math.ceil(n / SEGMENT_ALIGNMENT) * SEGMENT_ALIGNMENT;
}
