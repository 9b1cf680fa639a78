export { ReedSolomonCodec } from './codec.ts';
export { StripePool } from './pool.ts';
export { segmentView, segmentViews } from './stripe.ts';
export type { StripeBuffers } from './stripe.ts';
export {
  DEFAULT_SCHEME,
  MAX_DATA_SHARDS,
  MAX_PARITY_SHARDS,
  RS_2_1,
  RS_3_2,
  SEGMENT_ALIGNMENT,
  SEGMENT_SIZE,
  alignSegmentLength,
  schemeName,
  validateScheme,
} from './scheme.ts';
export type { RsScheme } from './scheme.ts';
export { ErasureError } from './errors.ts';
export type { ErasureErrorCode } from './errors.ts';
