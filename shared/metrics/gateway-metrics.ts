// The gateway's Prometheus metrics: S3 requests, bytes, the shard and s3db calls the data path makes,
// degraded reads; plus cluster gauges (repair backlog, jobs) read from s3db when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LATENCY_BUCKETS, statusLabel } from './labels.ts';
import { RateWindow } from './rate-window.ts';

export interface RequestSample {
  /** S3 operation (ListBuckets, PutObject, …), `Admin`, or `Unknown` when the request was not understood. */
  operation: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
}

/** What the gateway exports about the cluster; read at most every `cacheMs` on scrape. */
export interface ClusterGauges {
  repairBacklog: number;
  /** True when the backlog count stopped at its bound (there are at least this many). */
  repairBacklogCapped: boolean;
  jobs: Array<{
    id: string;
    kind: string;
    state: string;
    done: number;
    total?: number;
    bytes: number;
  }>;
}

export interface GatewayMetricsOptions {
  /** Reads the cluster gauges (distributed backend only). */
  cluster?: () => Promise<ClusterGauges>;
  cacheMs?: number;
  /** Node.js process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean;
  /** Also told of every request (the Lambda gateway's EMF recorder). */
  onRequest?: (sample: RequestSample) => void;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  /** Requests and bytes per second over the last minute (status page). */
  readonly rates = new RateWindow(60);
  readonly requests: Counter<'operation' | 'status'>;
  readonly requestSeconds: Histogram<'operation'>;
  readonly bytesReceived: Counter<'operation'>;
  readonly bytesSent: Counter<'operation'>;
  readonly shardRequests: Counter<'op' | 'node' | 'outcome'>;
  readonly shardSeconds: Histogram<'op'>;
  readonly shardBytes: Counter<'op' | 'direction'>;
  readonly degradedReads: Counter<'reason'>;
  readonly dbRequests: Counter<'op' | 'outcome'>;
  readonly dbSeconds: Histogram<'op'>;
  private clusterCache: { at: number; value: Promise<ClusterGauges | undefined> } | undefined;

  constructor(private readonly options: GatewayMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'predastore_gateway_requests_total',
      help: 'S3 requests answered, by operation and HTTP status',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'predastore_gateway_request_duration_seconds',
      help: 'Time from request to the end of the response, by S3 operation',
      labelNames: ['operation'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.bytesReceived = new Counter({
      name: 'predastore_gateway_received_bytes_total',
      help: 'Request body bytes received (declared Content-Length), by S3 operation',
      labelNames: ['operation'],
      registers,
    });
    this.bytesSent = new Counter({
      name: 'predastore_gateway_sent_bytes_total',
      help: 'Response body bytes sent (declared Content-Length), by S3 operation',
      labelNames: ['operation'],
      registers,
    });
    this.shardRequests = new Counter({
      name: 'predastore_gateway_shard_requests_total',
      help: 'Shard protocol requests to appliances, by op, appliance id and outcome (ok or error code)',
      labelNames: ['op', 'node', 'outcome'],
      registers,
    });
    this.shardSeconds = new Histogram({
      name: 'predastore_gateway_shard_request_duration_seconds',
      help: 'Shard protocol request latency, by op',
      labelNames: ['op'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.shardBytes = new Counter({
      name: 'predastore_gateway_shard_bytes_total',
      help: 'Shard bytes sent to (put) and received from (fetch) appliances',
      labelNames: ['op', 'direction'],
      registers,
    });
    this.degradedReads = new Counter({
      name: 'predastore_gateway_degraded_reads_total',
      help: 'Chunks read with missing or bad shards (each queues a repair task), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.dbRequests = new Counter({
      name: 'predastore_gateway_s3db_requests_total',
      help: 's3db client calls, by operation and outcome (ok or error code)',
      labelNames: ['op', 'outcome'],
      registers,
    });
    this.dbSeconds = new Histogram({
      name: 'predastore_gateway_s3db_request_duration_seconds',
      help: 's3db client call latency (retries included), by operation',
      labelNames: ['op'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    if (options.cluster !== undefined) this.registerClusterGauges();
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  recordRequest(sample: RequestSample): void {
    const status = statusLabel(sample.status);
    this.requests.inc({ operation: sample.operation, status });
    this.requestSeconds.observe({ operation: sample.operation }, sample.seconds);
    if (sample.bytesIn > 0) this.bytesReceived.inc({ operation: sample.operation }, sample.bytesIn);
    if (sample.bytesOut > 0) this.bytesSent.inc({ operation: sample.operation }, sample.bytesOut);
    this.rates.add({
      requests: 1,
      bytesIn: sample.bytesIn,
      bytesOut: sample.bytesOut,
      errors: sample.status >= 500 ? 1 : 0,
    });
    this.options.onRequest?.(sample);
  }

  /** Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The cluster gauges, read again when the cached copy is older than `cacheMs` (default 10 s). */
  cluster(): Promise<ClusterGauges | undefined> {
    const read = this.options.cluster;
    if (read === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.clusterCache === undefined || now - this.clusterCache.at > (this.options.cacheMs ?? 10_000)) {
      this.clusterCache = { at: now, value: read().catch(() => undefined) };
    }
    return this.clusterCache.value;
  }

  private registerClusterGauges(): void {
    const registers = [this.registry];
    const cluster = (): Promise<ClusterGauges | undefined> => this.cluster();
    new Gauge({
      name: 'predastore_cluster_read_ok',
      help: '1 when the cluster gauges below were read from s3db for this scrape (else they are stale)',
      registers,
      async collect() {
        this.set((await cluster()) === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'predastore_cluster_repair_backlog',
      help: 'Repair tasks queued in s3db (pd.repair); counting stops at a bound, see _capped',
      registers,
      async collect() {
        const c = await cluster();
        if (c !== undefined) this.set(c.repairBacklog);
      },
    });
    new Gauge({
      name: 'predastore_cluster_repair_backlog_capped',
      help: '1 when the repair backlog count stopped at its bound',
      registers,
      async collect() {
        const c = await cluster();
        if (c !== undefined) this.set(c.repairBacklogCapped ? 1 : 0);
      },
    });
    new Gauge({
      name: 'predastore_cluster_jobs',
      help: 'Background jobs (pd.jobs) by kind and state',
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        const c = await cluster();
        if (c === undefined) return;
        this.reset();
        const counts = new Map<string, { kind: string; state: string; n: number }>();
        for (const job of c.jobs) {
          const key = `${job.kind}\0${job.state}`;
          const entry = counts.get(key) ?? { kind: job.kind, state: job.state, n: 0 };
          entry.n++;
          counts.set(key, entry);
        }
        for (const { kind, state, n } of counts.values()) this.set({ kind, state }, n);
      },
    });
    const progress = (
      name: string,
      help: string,
      pick: (j: ClusterGauges['jobs'][number]) => number | undefined,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['id', 'kind'],
        registers,
        async collect() {
          const c = await cluster();
          if (c === undefined) return;
          this.reset();
          for (const job of c.jobs) {
            if (job.state !== 'running' && job.state !== 'queued' && job.state !== 'stopping') continue;
            const value = pick(job);
            if (value !== undefined) this.set({ id: job.id, kind: job.kind }, value);
          }
        },
      });
    };
    progress(
      'predastore_job_progress_done',
      'Units done by each unfinished job (rebalance, repair, …)',
      (j) => j.done,
    );
    progress(
      'predastore_job_progress_total',
      'Units an unfinished job has in all, when known',
      (j) => j.total,
    );
    progress(
      'predastore_job_progress_bytes',
      'Bytes moved or checked by each unfinished job',
      (j) => j.bytes,
    );
  }
}
