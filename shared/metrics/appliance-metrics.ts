// An appliance's Prometheus metrics: shard requests served, bytes, and its store's state (read from
// the store when scraped). The store is described structurally so shared/ needs nothing of appliance/.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './labels.ts';

/** The part of the shard store's stats() the metrics read. */
export interface StoreSnapshot {
  volumes: Array<{ id: number; liveBytes: number; deadBytes: number; liveShards?: number }>;
  shardCount: number;
  liveBytes: number;
  deadBytes: number;
  disk: { freeBytes: number; totalBytes: number };
  commits?: number;
  committedRecords?: number;
}

/** Counters another part of the appliance keeps (heal's maintenance: repaired shards, reclaimed bytes, …). */
export type CounterSource = () => Record<string, number> | undefined;

export class ApplianceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'node' | 'op' | 'status'>;
  readonly requestSeconds: Histogram<'node' | 'op'>;
  readonly bytes: Counter<'node' | 'direction'>;
  private readonly sources = new Map<string, CounterSource>();

  constructor(
    readonly node: string,
    stats: () => Promise<StoreSnapshot>,
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'predastore_appliance_requests_total',
      help: 'Shard protocol requests served, by op and wire status (OK, NOT_FOUND, …, RESET)',
      labelNames: ['node', 'op', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'predastore_appliance_request_duration_seconds',
      help: 'Shard protocol request service time, by op',
      labelNames: ['node', 'op'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.bytes = new Counter({
      name: 'predastore_appliance_shard_bytes_total',
      help: 'Shard bytes written to (written) and read from (read) the store',
      labelNames: ['node', 'direction'],
      registers,
    });
    // One read of the store per scrape, shared by every gauge below.
    let pending: Promise<StoreSnapshot | undefined> | undefined;
    const snapshot = (): Promise<StoreSnapshot | undefined> => {
      pending ??= stats()
        .catch(() => undefined)
        .finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    const gauge = (name: string, help: string, pick: (s: StoreSnapshot) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['node'],
        registers,
        async collect() {
          const s = await snapshot();
          const value = s === undefined ? undefined : pick(s);
          if (value !== undefined) this.set({ node }, value);
        },
      });
    };
    gauge('predastore_appliance_shards', 'Shards held', (s) => s.shardCount);
    gauge('predastore_appliance_live_bytes', 'Bytes of live shard records', (s) => s.liveBytes);
    gauge(
      'predastore_appliance_dead_bytes',
      'Bytes of deleted or superseded records not yet compacted',
      (s) => s.deadBytes,
    );
    gauge('predastore_appliance_volumes', 'Volume files', (s) => s.volumes.length);
    gauge(
      'predastore_appliance_disk_free_bytes',
      'Free bytes of the file system holding the store',
      (s) => s.disk.freeBytes,
    );
    gauge(
      'predastore_appliance_disk_total_bytes',
      'Size of the file system holding the store',
      (s) => s.disk.totalBytes,
    );
    gauge(
      'predastore_appliance_store_commits',
      'Group commits (fsyncs) since the store opened',
      (s) => s.commits,
    );
    gauge(
      'predastore_appliance_store_committed_records',
      'Records written by those commits',
      (s) => s.committedRecords,
    );
    const perVolume = (
      name: string,
      help: string,
      pick: (v: StoreSnapshot['volumes'][number]) => number,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['node', 'volume'],
        registers,
        async collect() {
          const s = await snapshot();
          if (s === undefined) return;
          this.reset();
          for (const v of s.volumes) this.set({ node, volume: String(v.id) }, pick(v));
        },
      });
    };
    perVolume('predastore_appliance_volume_live_bytes', 'Live bytes per volume', (v) => v.liveBytes);
    perVolume('predastore_appliance_volume_dead_bytes', 'Dead bytes per volume', (v) => v.deadBytes);
    const sources = this.sources;
    new Gauge({
      name: 'predastore_appliance_maintenance',
      help: 'Counters of the appliance maintenance (healer, garbage, compaction, scrub), by source and name',
      labelNames: ['node', 'source', 'name'],
      registers,
      collect() {
        this.reset();
        for (const [source, read] of sources) {
          let values: Record<string, number> | undefined;
          try {
            values = read();
          } catch {
            values = undefined;
          }
          for (const [name, value] of Object.entries(values ?? {}))
            if (Number.isFinite(value)) this.set({ node, source, name }, value);
        }
      },
    });
  }

  /** One finished request (from the shard server's onRequestDone). */
  recordRequest(op: string, status: string, durationMs: number): void {
    this.requests.inc({ node: this.node, op, status });
    this.requestSeconds.observe({ node: this.node, op }, durationMs / 1000);
  }

  recordBytes(direction: 'written' | 'read', bytes: number): void {
    if (bytes > 0) this.bytes.inc({ node: this.node, direction }, bytes);
  }

  /** Exports `read()`'s numbers as predastore_appliance_maintenance{source, name}. */
  addCounterSource(source: string, read: CounterSource): void {
    this.sources.set(source, read);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
