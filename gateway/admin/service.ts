// The admin API's operations over s3db (jobs, status) and the appliances (STAT), with their own
// clients: the backend's stay private to the data path.
import type { ClusterConfig, ShardNodeConfig } from '../../shared/config/index.ts';
import {
  JobConflictError,
  JobNotFoundError,
  JobRecordError,
  JobStateError,
  createJob,
  getJob,
  listJobs,
  requestStop,
  resumeJob,
} from '../../shared/jobs/index.ts';
import type { JobKind, JobRecord, JobState } from '../../shared/jobs/index.ts';
import type { RateTotals } from '../../shared/metrics/index.ts';
import type { NodeStats } from '../../shared/protocol/messages.ts';
import { S3dbClient, S3dbClientError } from '../../shared/s3db-client/index.ts';
import { ShardClient } from '../../shared/shard-client/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';
import { createTransport } from '../../shared/transport/index.ts';
import { collectClusterStatus, countRepairBacklog } from './cluster-status.ts';
import type { ClusterGauges } from '../../shared/metrics/index.ts';
import type { ClusterStatus, StatusDb } from './cluster-status.ts';
import { checkJobParams } from './job-params.ts';
import { OpsRouteError } from './routes.ts';
import { formatHostPort } from '../../shared/net/host-port.ts';

export interface AdminServiceDeps {
  config: ClusterConfig;
  db: StatusDb;
  stat(node: ShardNodeConfig): Promise<NodeStats>;
  rates?: () => RateTotals;
  close?: () => Promise<void>;
}

/** Maps job and s3db failures to the admin API's typed errors. */
function adminError(error: unknown): never {
  if (error instanceof OpsRouteError) throw error;
  if (error instanceof JobNotFoundError) throw new OpsRouteError(404, 'NoSuchJob', error.message);
  if (error instanceof JobStateError) throw new OpsRouteError(409, 'InvalidJobState', error.message);
  if (error instanceof JobConflictError) throw new OpsRouteError(409, 'Conflict', error.message);
  if (error instanceof JobRecordError) throw new OpsRouteError(400, 'InvalidArgument', error.message);
  if (error instanceof S3dbClientError)
    throw new OpsRouteError(503, 'ServiceUnavailable', `s3db: ${error.message}`);
  throw error;
}

export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** Clients of its own: s3db (short retries) and the shard protocol with the gateway's certificate. */
  static async open(
    config: ClusterConfig,
    tls: TlsIdentity,
    rates?: () => RateTotals,
  ): Promise<AdminService> {
    const first = config.db[0];
    if (first === undefined) throw new Error('the config has no s3db node');
    const db = new S3dbClient({
      nodes: config.db.map((d) => formatHostPort(d.advertiseHost, d.port)),
      credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
      region: config.region,
      caPem: tls.caPem,
      attemptTimeoutMs: 3000,
      retryForMs: 5000,
      maxSockets: 16,
    });
    const shards = new ShardClient({
      transport: await createTransport(config.transport.kind),
      tls,
      defaultTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    });
    return new AdminService({
      config,
      db,
      stat: (node) =>
        shards.stat(
          { host: node.advertiseHost, port: node.port, serverName: `node-${node.id}.predastore.internal` },
          { timeoutMs: 2000 },
        ),
      ...(rates === undefined ? {} : { rates }),
      close: async () => {
        await shards.close();
        db.close();
      },
    });
  }

  status(): Promise<ClusterStatus> {
    return collectClusterStatus({
      config: this.deps.config,
      db: this.deps.db,
      stat: this.deps.stat,
      ...(this.deps.rates === undefined ? {} : { rates: this.deps.rates }),
    });
  }

  /** The cluster gauges the gateway's /metrics exports (repair backlog, jobs). */
  async gauges(): Promise<ClusterGauges> {
    const [backlog, jobs] = await Promise.all([
      countRepairBacklog(this.deps.db),
      listJobs(this.deps.db, { limit: 10_000, stale: true }),
    ]);
    if (backlog.error !== undefined) throw new Error(backlog.error);
    return {
      repairBacklog: backlog.count,
      repairBacklogCapped: backlog.capped,
      jobs: jobs.map((j) => ({
        id: j.id,
        kind: j.kind,
        state: j.state,
        done: j.progress.done,
        ...(j.progress.total === undefined ? {} : { total: j.progress.total }),
        bytes: j.progress.bytes,
      })),
    };
  }

  async listJobs(options: { limit: number; states?: JobState[]; kinds?: JobKind[] }): Promise<JobRecord[]> {
    return listJobs(this.deps.db, options).catch(adminError);
  }

  async getJob(id: string): Promise<JobRecord> {
    const found = await getJob(this.deps.db, id).catch(adminError);
    if (found === undefined) throw new OpsRouteError(404, 'NoSuchJob', `job ${id} does not exist`);
    return found;
  }

  async createJob(kind: JobKind, params: Record<string, string | number | boolean>): Promise<JobRecord> {
    const checked = checkJobParams(
      kind,
      params,
      this.deps.config.nodes.map((n) => String(n.id)),
    );
    return createJob(this.deps.db, kind, checked).catch(adminError);
  }

  stopJob(id: string): Promise<JobRecord> {
    return requestStop(this.deps.db, id).catch(adminError);
  }

  resumeJob(id: string): Promise<JobRecord> {
    return resumeJob(this.deps.db, id).catch(adminError);
  }

  async close(): Promise<void> {
    await this.deps.close?.();
  }
}
