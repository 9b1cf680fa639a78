// Starts the S3 gateway of a plan in this process, over the filesystem or the distributed backend.
import { readFile } from 'node:fs/promises';
import type { ClusterConfig } from '../shared/config/index.ts';
import type { GatewayPlan, StartPlan } from '../shared/config/plan.ts';
import type { Backend } from '../gateway/backend/types.ts';
import { FilesystemBackend } from '../gateway/backend/filesystem/index.ts';
import { startGatewayServer } from '../gateway/server.ts';
import type { GatewayServer } from '../gateway/server.ts';

export interface RunningGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

type ClosableBackend = Backend & { close(): Promise<void> };

interface DistributedBackendModule {
  createDistributedBackend(
    config: ClusterConfig,
    options?: Record<string, unknown>,
  ): Promise<ClosableBackend>;
}

// A variable, not a literal: the distributed backend is another module's work and is loaded only when
// a distributed gateway runs, so the filesystem gateway works without it.
const DISTRIBUTED_BACKEND_MODULE = '../gateway/backend/distributed/index.ts';

/** The distributed backend is missing from this build (its module could not be loaded). */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

async function openBackend(plan: StartPlan, gateway: GatewayPlan): Promise<ClosableBackend> {
  if (plan.backend === 'filesystem')
    return FilesystemBackend.open({ basePath: gateway.filesystemPath ?? plan.config.basePath });
  let module: DistributedBackendModule;
  try {
    module = (await import(DISTRIBUTED_BACKEND_MODULE)) as DistributedBackendModule;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND')
      throw new BackendUnavailableError(
        `the distributed backend (gateway/backend/distributed) is not part of this build: ${(error as Error).message}`,
      );
    throw error;
  }
  if (typeof module.createDistributedBackend !== 'function')
    throw new BackendUnavailableError('gateway/backend/distributed does not export createDistributedBackend');
  return module.createDistributedBackend(plan.config);
}

export async function startPlanGateway(
  plan: StartPlan,
  host: string,
  logLevel = 'warn',
): Promise<RunningGateway> {
  const gateway = plan.gateway;
  if (gateway === undefined) throw new Error('this plan runs no gateway');
  const tls =
    gateway.tlsCert !== undefined && gateway.tlsKey !== undefined
      ? { cert: await readFile(gateway.tlsCert), key: await readFile(gateway.tlsKey) }
      : undefined;
  const backend = await openBackend(plan, gateway);
  let server: GatewayServer;
  try {
    server = await startGatewayServer({
      backend,
      credentials: plan.config.auth,
      port: gateway.port,
      host,
      region: plan.config.region,
      ...(plan.config.gateway.domain === undefined ? {} : { domain: plan.config.gateway.domain }),
      ...(tls === undefined ? {} : { tls }),
      logger: { level: logLevel },
    });
  } catch (error) {
    await backend.close().catch(() => undefined);
    throw error;
  }
  // The app closes the backend in its onClose hook.
  return { url: server.url, port: server.port, close: () => server.close() };
}
