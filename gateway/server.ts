// Long-running gateway entry: builds the app and listens (HTTP, or HTTPS with a certificate).
import type { AddressInfo } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import type { AuthConfig } from '../shared/config/types.ts';
import type { Backend } from './backend/types.ts';
import type { GatewayAuth } from './auth-contract.ts';
import { buildGatewayApp } from './app.ts';
import { createGatewayAuth } from './auth-adapter.ts';
import type { GatewayOps } from './admin/ops.ts';

export interface GatewayServerOptions {
  backend: Backend;
  /** `[[auth]]` entries; used unless `auth` is given. */
  credentials?: readonly AuthConfig[];
  /** A ready-made authenticator (overrides `credentials`). */
  auth?: GatewayAuth;
  port: number;
  host?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  region?: string;
  domain?: string;
  logger?: FastifyServerOptions['logger'];
  /** Metrics, admin API and status page (gateway/admin). */
  ops?: GatewayOps;
}

export interface GatewayServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const region = options.region ?? 'us-east-1';
  const auth = options.auth ?? createGatewayAuth(options.credentials ?? [], { region });
  const app = buildGatewayApp({
    backend: options.backend,
    auth,
    region,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    ...(options.tls === undefined ? {} : { https: options.tls }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.ops === undefined ? {} : { ops: options.ops }),
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port, host });
  const { port } = app.server.address() as AddressInfo;
  const scheme = options.tls === undefined ? 'http' : 'https';
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `${scheme}://${urlHost}:${port}`,
    port,
    close: () => app.close(),
  };
}
