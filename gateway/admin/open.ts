// Builds the gateway's operator side for a config: metrics (with the cluster gauges), the admin
// service with its own clients (distributed backend only), and the instrumentation of the data
// path's clients.
import type { ClusterConfig } from '../../shared/config/index.ts';
import { decodeRepairRecord } from '../../shared/metadata/records.ts';
import { GatewayMetrics, instrumentS3dbClient, instrumentShardClient } from '../../shared/metrics/index.ts';
import type { GatewayMetricsOptions } from '../../shared/metrics/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { ShardClient } from '../../shared/shard-client/index.ts';
import { createGatewayOps } from './ops.ts';
import type { GatewayOps } from './ops.ts';
import { AdminService } from './service.ts';

export interface OpenedGatewayOps {
  ops: GatewayOps;
  /** Pass to createDistributedBackend's `instrument` option. */
  instrument: { shards: (c: ShardClient) => ShardClient; db: (c: S3dbClient) => S3dbClient };
}

export interface OpenGatewayOpsOptions {
  /** The gateway's cluster identity (the Lambda reads it from parameters); default from `[tls] dir`. */
  tls?: TlsIdentity;
  /** Passed to GatewayMetrics (e.g. `onRequest` for the Lambda's EMF lines). */
  metrics?: Pick<GatewayMetricsOptions, 'onRequest' | 'processMetrics'>;
}

/** One piece for both gateways: the host server (bin/gateway.ts) and the Lambda (gateway/lambda). */
export async function openGatewayOps(
  config: ClusterConfig,
  backend: 'filesystem' | 'distributed',
  options: OpenGatewayOpsOptions = {},
): Promise<OpenedGatewayOps> {
  let admin: AdminService | undefined;
  const metrics = new GatewayMetrics({
    ...(options.metrics ?? {}),
    ...(backend === 'distributed'
      ? {
          cluster: () =>
            admin === undefined ? Promise.reject(new Error('no admin service')) : admin.gauges(),
        }
      : {}),
  });
  if (backend === 'distributed') {
    // Loaded on demand, like the backend itself: the filesystem gateway needs no cluster code.
    const { gatewayTlsIdentity } = await import('../backend/distributed/index.ts');
    admin = await AdminService.open(config, options.tls ?? (await gatewayTlsIdentity(config)), () =>
      metrics.rates.perSecond(),
    );
  }
  return {
    ops: createGatewayOps({ metrics, credentials: config.auth, ...(admin === undefined ? {} : { admin }) }),
    instrument: {
      shards: (c) => instrumentShardClient(c, metrics),
      db: (c) => instrumentS3dbClient(c, metrics, (value) => decodeRepairRecord(value).reason),
    },
  };
}
