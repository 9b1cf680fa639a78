// Builds the gateway's operator side for a config: metrics (with the cluster gauges), the admin
// service with its own clients (distributed backend only), and the instrumentation of the data
// path's clients.
import type { ClusterConfig } from '../../shared/config/index.ts';
import { decodeRepairRecord } from '../../shared/metadata/records.ts';
import { GatewayMetrics, instrumentS3dbClient, instrumentShardClient } from '../../shared/metrics/index.ts';
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

export async function openGatewayOps(
  config: ClusterConfig,
  backend: 'filesystem' | 'distributed',
): Promise<OpenedGatewayOps> {
  let admin: AdminService | undefined;
  const metrics = new GatewayMetrics(
    backend === 'distributed'
      ? {
          cluster: () =>
            admin === undefined ? Promise.reject(new Error('no admin service')) : admin.gauges(),
        }
      : {},
  );
  if (backend === 'distributed') {
    // Loaded on demand, like the backend itself: the filesystem gateway needs no cluster code.
    const { gatewayTlsIdentity } = await import('../backend/distributed/index.ts');
    admin = await AdminService.open(config, await gatewayTlsIdentity(config), () =>
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
