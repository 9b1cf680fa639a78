export {
  RING_FORMAT,
  RingChangeError,
  activeNodes,
  decodeRingRecord,
  encodeRingRecord,
  initialRing,
  nodesIn,
  placementRing,
  planRingChange,
  writeScheme,
} from './ring-record.ts';
export type { RingChange, RingChangeErrorCode, RingNode, RingNodeState, RingRecord } from './ring-record.ts';
export {
  CLUSTER_TABLE,
  RING_KEY,
  RingSource,
  applyRingChange,
  clusterRingOf,
  configNodeIds,
  configScheme,
  ensureRing,
  loadRing,
} from './ring-store.ts';
export type { ClusterRing, RingDb, RingSourceOptions, StoredRing } from './ring-store.ts';
