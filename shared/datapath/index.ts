export {
  MAX_CHUNK_SIZE,
  chunkCount,
  chunkLayout,
  chunkLayouts,
  makeGeometry,
  segmentLengthFor,
  segmentOffsetInShard,
  shardLength,
  stripeCount,
  stripeLayout,
} from './geometry.ts';
export type { ChunkLayout, Geometry, GeometryOptions, StripeLayout } from './geometry.ts';
export { degradedFetches, planChunkRange, planRange, sliceChunk, windowChunkPlan } from './range-plan.ts';
export type { ChunkRangePlan, InclusiveRange, RangePlan, SegmentSlice, ShardFetch } from './range-plan.ts';
export { ObjectEncoder } from './encoder.ts';
export type { EncodeResult, EncodedStripe, EncoderOptions } from './encoder.ts';
export { decodeStripe } from './stripe-decoder.ts';
export type { DecodeStripeInput, DecodedStripe } from './stripe-decoder.ts';
export { BodyReader } from './body-reader.ts';
export { DataPathError } from './errors.ts';
export type { DataPathErrorCode } from './errors.ts';
