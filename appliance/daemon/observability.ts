// An appliance's metrics endpoint and request log: counts what its shard server serves and the bytes
// its store moves, exports the store's state, and logs each request with the client's request id
// (JSON, pino; every request at debug level: PREDASTORE_LOG_LEVEL=debug).
import type { ClusterConfig } from '../../shared/config/index.ts';
import { createLogger } from '../../shared/logging/index.ts';
import type { Logger } from '../../shared/logging/index.ts';
import {
  ApplianceMetrics,
  S3dbMetrics,
  metricsPortOf,
  s3dbOperation,
  startMetricsListener,
} from '../../shared/metrics/index.ts';
import type { MetricsListener, RaftSnapshot, StoreSnapshot } from '../../shared/metrics/index.ts';
import { apiRequestObservers } from '../s3db/http/server.ts';
import type { ApiRequestRecord } from '../s3db/http/server.ts';
import type { MaintenanceStats } from '../maintenance/index.ts';
import type { ShardBackend } from '../shard-server/backend.ts';
import { segmentLength } from '../shard-server/backend.ts';
import type { ShardRequestContext, ShardRequestOutcome } from '../shard-server/server.ts';

export interface ApplianceObservability {
  readonly metrics: ApplianceMetrics;
  readonly logger: Logger;
  /** The backend with its bytes counted. */
  count(backend: ShardBackend): ShardBackend;
  onRequestDone(context: ShardRequestContext, outcome: ShardRequestOutcome): void;
  /** Exports the maintenance counters (healer, gc, compaction, scrub, jobs) as gauges. */
  exportMaintenance(stats: MaintenanceStats): void;
  /** Starts the metrics listener (`metrics_port`, default port + 2000); a busy port only warns. */
  listen(log: (line: string) => void): Promise<void>;
  close(): Promise<void>;
}

const bytesOf = (segments: readonly Uint8Array[]): number => segments.reduce((n, s) => n + s.byteLength, 0);

export function observeAppliance(
  config: ClusterConfig,
  id: number,
  stats: () => Promise<StoreSnapshot>,
): ApplianceObservability {
  const node = config.nodes.find((n) => n.id === id);
  const metrics = new ApplianceMetrics(String(id), stats);
  const logger = createLogger(`node ${id}`);
  let listener: MetricsListener | undefined;
  return {
    metrics,
    logger,
    count(backend: ShardBackend): ShardBackend {
      return {
        ...backend,
        put: async (key, meta, segments) => {
          await backend.put(key, meta, segments);
          metrics.recordBytes(
            'written',
            segments.reduce((n, s) => n + segmentLength(s), 0),
          );
        },
        readSegments: async (key, first, count) => {
          const segments = await backend.readSegments(key, first, count);
          metrics.recordBytes('read', bytesOf(segments));
          return segments;
        },
      };
    },
    onRequestDone(context, outcome) {
      metrics.recordRequest(context.op, outcome.status, outcome.durationMs);
      logger.debug(
        {
          requestId: context.requestId,
          op: context.op,
          status: outcome.status,
          durationMs: Math.round(outcome.durationMs * 10) / 10,
          peer: context.peer.remoteAddress,
        },
        'shard request',
      );
    },
    exportMaintenance(stats) {
      const groups = stats as unknown as Record<string, unknown>;
      for (const [source, group] of Object.entries(groups)) {
        if (group === null || typeof group !== 'object') continue;
        // Read at scrape time from the live stats object.
        metrics.addCounterSource(source, () => groups[source] as Record<string, number> | undefined);
      }
    },
    async listen(log) {
      const port = node === undefined ? undefined : metricsPortOf(node);
      if (node === undefined || port === undefined) return;
      try {
        listener = await startMetricsListener({ host: node.host, port, sources: [metrics] });
        log(`node ${id}: metrics on ${listener.url}`);
      } catch (error) {
        log(`node ${id}: metrics listener on port ${port} not started: ${(error as Error).message}`);
      }
    },
    async close() {
      await listener?.close();
    },
  };
}

/**
 * An s3db node's metrics endpoint (`metrics_port`, default port + 2000) and API request log (debug
 * level, with the gateway's request id when the caller sent one).
 */
export async function observeS3dbNode(
  config: ClusterConfig,
  id: number,
  status: () => RaftSnapshot,
  log: (line: string) => void,
): Promise<{ metrics: S3dbMetrics; close(): Promise<void> }> {
  const metrics = new S3dbMetrics(String(id), status);
  const logger = createLogger(`s3db ${id}`);
  const observer = (record: ApiRequestRecord): void => {
    if (record.nodeId !== id) return;
    metrics.recordRequest(record.path, record.status, record.durationMs);
    logger.debug(
      {
        requestId: record.requestId,
        method: record.method,
        op: s3dbOperation(record.path),
        status: record.status,
        durationMs: Math.round(record.durationMs * 10) / 10,
      },
      's3db request',
    );
  };
  apiRequestObservers.add(observer);
  const entry = config.db.find((d) => d.id === id);
  const port = entry === undefined ? undefined : metricsPortOf(entry);
  let listener: MetricsListener | undefined;
  if (entry !== undefined && port !== undefined) {
    try {
      listener = await startMetricsListener({ host: entry.host, port, sources: [metrics] });
      log(`s3db node ${id}: metrics on ${listener.url}`);
    } catch (error) {
      log(`s3db node ${id}: metrics listener on port ${port} not started: ${(error as Error).message}`);
    }
  }
  return {
    metrics,
    async close() {
      apiRequestObservers.delete(observer);
      await listener?.close();
    },
  };
}
