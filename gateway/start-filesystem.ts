// One call for the s3d CLI (`-backend filesystem`) and the test/server script: open the filesystem
// backend under the config's base_path and serve the S3 API.
import type { FastifyServerOptions } from 'fastify';
import type { ClusterConfig } from '../shared/config/types.ts';
import { FilesystemBackend } from './backend/filesystem/index.ts';
import { startGatewayServer } from './server.ts';
import type { GatewayServer } from './server.ts';

export interface FilesystemGatewayOptions {
  port: number;
  host?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Overrides config.basePath. */
  basePath?: string;
  logger?: FastifyServerOptions['logger'];
}

export async function startFilesystemGatewayServer(
  config: ClusterConfig,
  options: FilesystemGatewayOptions,
): Promise<GatewayServer> {
  const backend = await FilesystemBackend.open({ basePath: options.basePath ?? config.basePath });
  try {
    return await startGatewayServer({
      backend,
      credentials: config.auth,
      port: options.port,
      region: config.region,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(config.gateway.domain === undefined ? {} : { domain: config.gateway.domain }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
}
