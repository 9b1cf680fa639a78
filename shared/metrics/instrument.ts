// Wraps the shard and s3db clients the gateway's data path uses, without touching them: every call is
// counted and timed, and carries the current S3 request id (shared/logging) to the appliance.
import { currentRequestId } from '../logging/request-context.ts';
import type { S3dbClient } from '../s3db-client/index.ts';
import type { ShardClient, ShardPutStream } from '../shard-client/index.ts';
import { nodeLabel, outcomeLabel } from './labels.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';

type Peer = { host: string; port: number; serverName?: string };
type Options = { requestId?: string } | undefined;

/** Op label and position of the RequestOptions argument of each single-peer call. */
const SHARD_CALLS: Record<string, { op: string; optionsAt: number }> = {
  putShard: { op: 'put', optionsAt: 4 },
  fetchShard: { op: 'fetch', optionsAt: 3 },
  deleteShard: { op: 'delete', optionsAt: 2 },
  shardStat: { op: 'shard_stat', optionsAt: 2 },
  stat: { op: 'stat', optionsAt: 1 },
  list: { op: 'list', optionsAt: 2 },
};

function withRequestId(options: Options): Options {
  if (options?.requestId !== undefined) return options;
  const requestId = currentRequestId();
  return requestId === undefined ? options : { ...options, requestId };
}

function segmentBytes(segments: unknown): number {
  return Array.isArray(segments)
    ? segments.reduce((n: number, s: { byteLength?: number }) => n + (s.byteLength ?? 0), 0)
    : 0;
}

/** A streamed PUT (openPut) counted once, when it finishes, fails or is aborted. */
function countedPutStream(stream: ShardPutStream, metrics: GatewayMetrics, peer: Peer): ShardPutStream {
  const started = performance.now();
  let bytes = 0;
  let counted = false;
  const count = (error?: unknown): void => {
    if (counted) return;
    counted = true;
    metrics.shardSeconds.observe({ op: 'put' }, (performance.now() - started) / 1000);
    metrics.shardRequests.inc({ op: 'put', node: nodeLabel(peer), outcome: outcomeLabel(error) });
    if (error === undefined) metrics.shardBytes.inc({ op: 'put', direction: 'sent' }, bytes);
  };
  return {
    async write(segment) {
      await stream.write(segment);
      bytes += segment.byteLength;
    },
    async finish() {
      try {
        await stream.finish();
        count();
      } catch (error) {
        count(error);
        throw error;
      }
    },
    abort(reason) {
      stream.abort(reason);
      count(reason ?? Object.assign(new Error('aborted'), { code: 'CANCELLED' }));
    },
  };
}

/** The same client, counted in `metrics` (calls through putShards/fetchShards are counted once each). */
export function instrumentShardClient(client: ShardClient, metrics: GatewayMetrics): ShardClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === 'openPut' && typeof value === 'function')
        return (...args: unknown[]) => {
          while (args.length < 5) args.push(undefined);
          args[4] = withRequestId(args[4] as Options);
          const stream = (value as (...a: unknown[]) => ShardPutStream).apply(receiver, args);
          return countedPutStream(stream, metrics, args[0] as Peer);
        };
      const call = typeof property === 'string' ? SHARD_CALLS[property] : undefined;
      if (call === undefined || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const peer = args[0] as Peer;
        const at = call.optionsAt;
        while (args.length < at) args.push(undefined);
        args[at] = withRequestId(args[at] as Options);
        const started = performance.now();
        let outcome = 'ok';
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
            receiver,
            args,
          );
          if (call.op === 'put')
            metrics.shardBytes.inc({ op: 'put', direction: 'sent' }, segmentBytes(args[3]));
          if (call.op === 'fetch') {
            const got = result as { segments?: unknown };
            metrics.shardBytes.inc({ op: 'fetch', direction: 'received' }, segmentBytes(got.segments));
          }
          return result;
        } catch (error) {
          outcome = outcomeLabel(error);
          throw error;
        } finally {
          metrics.shardSeconds.observe({ op: call.op }, (performance.now() - started) / 1000);
          metrics.shardRequests.inc({ op: call.op, node: nodeLabel(peer), outcome });
        }
      };
    },
  });
}

const DB_CALLS = new Set(['get', 'put', 'delete', 'batch', 'scan', 'leader']);
const REPAIR_TABLE = 'pd.repair';

/**
 * The same client, counted in `metrics`. A `put` into the repair table is a degraded read being
 * reported (the write path queues its repairs inside a batch), so it also counts a degraded read.
 */
export function instrumentS3dbClient(
  client: S3dbClient,
  metrics: GatewayMetrics,
  reasonOf: (value: Uint8Array) => string = () => 'unknown',
): S3dbClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !DB_CALLS.has(property) || typeof value !== 'function')
        return value;
      const op = property;
      return async (...args: unknown[]) => {
        if (op === 'put' && args[0] === REPAIR_TABLE) {
          let reason = 'unknown';
          try {
            reason = reasonOf(args[2] as Uint8Array);
          } catch {
            // an undecodable record is still a degraded read
          }
          metrics.degradedReads.inc({ reason });
        }
        const started = performance.now();
        let outcome = 'ok';
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(receiver, args);
        } catch (error) {
          outcome = outcomeLabel(error);
          throw error;
        } finally {
          metrics.dbSeconds.observe({ op }, (performance.now() - started) / 1000);
          metrics.dbRequests.inc({ op, outcome });
        }
      };
    },
  });
}
