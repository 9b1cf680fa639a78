// An s3db node's Prometheus metrics: Raft state read from the node when scraped, and the API requests
// it served (the API server reports each one; see appliance/s3db/http/server.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS, s3dbOperation, statusLabel } from './labels.ts';

/** The part of the Raft driver's status() the metrics read. */
export interface RaftSnapshot {
  term: number;
  role: string;
  leaderId: number;
  commit: number;
  applied: number;
  lastIndex: number;
  fsmApplied?: number;
  snapshotIndex?: number;
}

export class S3dbMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'db' | 'op' | 'status'>;
  readonly requestSeconds: Histogram<'db' | 'op'>;

  constructor(
    readonly db: string,
    status: () => RaftSnapshot,
  ) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: (s: RaftSnapshot) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['db'],
        registers,
        collect() {
          let s: RaftSnapshot;
          try {
            s = status();
          } catch {
            return;
          }
          const value = pick(s);
          if (value !== undefined) this.set({ db }, value);
        },
      });
    };
    gauge('predastore_s3db_term', 'Current Raft term', (s) => s.term);
    gauge('predastore_s3db_commit_index', 'Highest log index known committed', (s) => s.commit);
    gauge('predastore_s3db_applied_index', 'Highest log index applied by Raft', (s) => s.applied);
    gauge(
      'predastore_s3db_fsm_applied_index',
      'Highest log index applied to the LevelDB state machine',
      (s) => s.fsmApplied,
    );
    gauge('predastore_s3db_last_log_index', 'Last index in the local Raft log', (s) => s.lastIndex);
    gauge('predastore_s3db_snapshot_index', 'Index of the latest snapshot', (s) => s.snapshotIndex);
    gauge('predastore_s3db_leader_id', 'Id of the leader this node knows (0 = none)', (s) => s.leaderId);
    gauge('predastore_s3db_is_leader', '1 on the leader, else 0', (s) => (s.role === 'leader' ? 1 : 0));
    this.requests = new Counter({
      name: 'predastore_s3db_requests_total',
      help: 'REST API requests answered, by operation and HTTP status',
      labelNames: ['db', 'op', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'predastore_s3db_request_duration_seconds',
      help: 'REST API request latency (writes include replication), by operation',
      labelNames: ['db', 'op'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
  }

  recordRequest(path: string, status: number, durationMs: number): void {
    const op = s3dbOperation(path);
    this.requests.inc({ db: this.db, op, status: statusLabel(status) });
    this.requestSeconds.observe({ db: this.db, op }, durationMs / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
