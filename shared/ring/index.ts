export { HashRing, DEFAULT_VNODES_PER_NODE, vnodePosition } from './ring.ts';
export type { RingOptions } from './ring.ts';
export { hash64, chunkPlacementKey, chunkPosition } from './hash.ts';
export { rebalancePlacement, movedShards } from './rebalance.ts';
export { RingError } from './errors.ts';
export type { RingErrorCode } from './errors.ts';
