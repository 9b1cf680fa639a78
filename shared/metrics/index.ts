export { GatewayMetrics } from './gateway-metrics.ts';
export type { ClusterGauges, GatewayMetricsOptions, RequestSample } from './gateway-metrics.ts';
export { ApplianceMetrics } from './appliance-metrics.ts';
export type { CounterSource, StoreSnapshot } from './appliance-metrics.ts';
export { S3dbMetrics } from './s3db-metrics.ts';
export type { RaftSnapshot } from './s3db-metrics.ts';
export { instrumentShardClient, instrumentS3dbClient } from './instrument.ts';
export { startMetricsListener, METRICS_CONTENT_TYPE } from './listener.ts';
export type { MetricsListener, MetricsSource } from './listener.ts';
export { RateWindow } from './rate-window.ts';
export { EMF_METRICS, EMF_NAMESPACE, EmfRecorder } from './emf.ts';
export type { EmfLine } from './emf.ts';
export type { RateTotals } from './rate-window.ts';
export {
  LATENCY_BUCKETS,
  METRICS_PORT_OFFSET,
  lengthOf,
  metricsPortOf,
  nodeLabel,
  outcomeLabel,
  s3dbOperation,
  statusLabel,
} from './labels.ts';
