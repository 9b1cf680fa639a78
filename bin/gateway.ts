// Starts the S3 gateway of a plan in this process, over the filesystem or the distributed backend.
import { readFile } from 'node:fs/promises';
import type { GatewayPlan, StartPlan } from '../shared/config/plan.ts';
import type { Backend } from '../gateway/backend/types.ts';
import { FilesystemBackend } from '../gateway/backend/filesystem/index.ts';
import { startGatewayServer } from '../gateway/server.ts';
import type { GatewayServer } from '../gateway/server.ts';
import { openGatewayOps } from '../gateway/admin/open.ts';
import type { OpenedGatewayOps } from '../gateway/admin/open.ts';
import { logLevelFromEnv } from '../shared/logging/logger.ts';

export interface RunningGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

type ClosableBackend = Backend & { close(): Promise<void> };

async function openBackend(
  plan: StartPlan,
  gateway: GatewayPlan,
  opened?: OpenedGatewayOps,
): Promise<ClosableBackend> {
  if (plan.backend === 'filesystem')
    return FilesystemBackend.open({ basePath: gateway.filesystemPath ?? plan.config.basePath });
  // Loaded on demand: the filesystem gateway needs none of the cluster client code.
  const { createDistributedBackend } = await import('../gateway/backend/distributed/index.ts');
  // Garbage (shards of superseded and deleted versions) is collected by the appliances
  // (appliance/maintenance): a gateway does no background work.
  return createDistributedBackend(plan.config, {
    ...(opened === undefined ? {} : { instrument: opened.instrument }),
  });
}

export async function startPlanGateway(
  plan: StartPlan,
  host: string,
  logLevel: string = logLevelFromEnv(),
): Promise<RunningGateway> {
  const gateway = plan.gateway;
  if (gateway === undefined) throw new Error('this plan runs no gateway');
  const tls =
    gateway.tlsCert !== undefined && gateway.tlsKey !== undefined
      ? { cert: await readFile(gateway.tlsCert), key: await readFile(gateway.tlsKey) }
      : undefined;
  // Metrics, admin API and status page (gateway/admin); the backend's clients report to its metrics.
  const opened = await openGatewayOps(plan.config, plan.backend);
  let backend: ClosableBackend;
  try {
    backend = await openBackend(plan, gateway, opened);
  } catch (error) {
    await opened.ops.close().catch(() => undefined);
    throw error;
  }
  let server: GatewayServer;
  try {
    await createConfiguredBuckets(plan, backend);
    server = await startGatewayServer({
      backend,
      credentials: plan.config.auth,
      port: gateway.port,
      host,
      region: plan.config.region,
      ...(plan.config.gateway.domain === undefined ? {} : { domain: plan.config.gateway.domain }),
      ...(tls === undefined ? {} : { tls }),
      logger: { level: logLevel },
      ops: opened.ops,
    });
  } catch (error) {
    await opened.ops.close().catch(() => undefined);
    await backend.close().catch(() => undefined);
    throw error;
  }
  // The app closes the backend in its onClose hook.
  return { url: server.url, port: server.port, close: () => server.close() };
}

/**
 * The config's `[[buckets]]` exist once the gateway serves: each is created, owned by the account of
 * the first `[[auth]]` entry, unless it is already there. A bucket typed for the other backend is left
 * alone.
 */
export async function createConfiguredBuckets(plan: StartPlan, backend: Backend): Promise<string[]> {
  const owner = plan.config.auth[0]?.accountId ?? '000000000000';
  const created: string[] = [];
  for (const bucket of plan.config.buckets) {
    if (bucket.type !== undefined && bucket.type !== plan.backend) continue;
    try {
      await backend.createBucket(bucket.name, owner, bucket.region);
      created.push(bucket.name);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
    }
  }
  return created;
}
