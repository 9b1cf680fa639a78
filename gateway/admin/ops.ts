// The gateway's operator endpoints (Fastify glue): Prometheus metrics, the admin API and the status
// page, plus the per-request metrics hook. gateway/app.ts calls into this through GatewayOps.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth, Identity } from '../auth-contract.ts';
import type { AuthConfig } from '../../shared/config/types.ts';
import { lengthOf } from '../../shared/metrics/index.ts';
import type { GatewayMetrics } from '../../shared/metrics/index.ts';
import { isAdminAllowed } from './auth-rules.ts';
import type { AdminAction } from './auth-rules.ts';
import { METRICS_PATH, OpsRouteError, isOpsPath, parseCreateJobBody, parseOpsRoute } from './routes.ts';
import type { OpsRoute } from './routes.ts';
import type { AdminService } from './service.ts';
import { statusPageHtml } from './status-page.ts';

export interface GatewayOps {
  readonly metrics: GatewayMetrics;
  /** Whether the (path-style) request path is an operator endpoint. */
  handles(rawPath: string): boolean;
  handle(request: FastifyRequest, reply: FastifyReply, auth: GatewayAuth): Promise<unknown>;
  /** Called once per finished request (onResponse) with the S3 operation when it was resolved. */
  observe(request: FastifyRequest, reply: FastifyReply, operation: string | undefined): void;
  close(): Promise<void>;
}

export interface GatewayOpsOptions {
  metrics: GatewayMetrics;
  /** `[[auth]]` entries: their policies decide who is an admin. */
  credentials: readonly AuthConfig[];
  /** Absent for the filesystem backend: the admin API then answers 501. */
  admin?: AdminService;
}

const MAX_JOB_BODY = 16 * 1024;

function splitUrl(rawUrl: string): { rawPath: string; rawQuery: string } {
  const q = rawUrl.indexOf('?');
  return q < 0
    ? { rawPath: rawUrl, rawQuery: '' }
    : { rawPath: rawUrl.slice(0, q), rawQuery: rawUrl.slice(q + 1) };
}

function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  requestId: string,
): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ error: { code, message, requestId } }));
}

async function readBody(body: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_JOB_BODY)
      throw new OpsRouteError(413, 'BodyTooLarge', `the body is larger than ${MAX_JOB_BODY} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

export function createGatewayOps(options: GatewayOpsOptions): GatewayOps {
  const { metrics, admin } = options;
  const policies = new Map(options.credentials.map((c) => [c.accessKeyId, c.policy]));

  const authorize = (identity: Identity, action: AdminAction): void => {
    if (!isAdminAllowed(policies.get(identity.accessKeyId) ?? [], action))
      throw new OpsRouteError(
        403,
        'AccessDenied',
        `access key ${identity.accessKeyId} may not ${action}: its [[auth]] policy needs an "admin:*" (or "${action}") action`,
      );
  };

  const serve = async (
    route: Exclude<OpsRoute, { kind: 'metrics' }>,
    request: FastifyRequest,
    reply: FastifyReply,
    auth: GatewayAuth,
    authRequest: AuthRequest,
    identity: Identity,
  ): Promise<unknown> => {
    authorize(identity, route.action);
    if (admin === undefined)
      throw new OpsRouteError(501, 'NotImplemented', 'the admin API needs the distributed backend');
    const json = (status: number, value: unknown): FastifyReply =>
      reply
        .code(status)
        .header('content-type', 'application/json')
        .header('cache-control', 'no-store')
        .send(JSON.stringify(value));
    switch (route.kind) {
      case 'statusPage':
        return reply
          .header('content-type', 'text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
          .send(statusPageHtml(await admin.status()));
      case 'status':
        return json(200, await admin.status());
      case 'listJobs':
        return json(200, {
          jobs: await admin.listJobs({
            limit: route.limit,
            ...(route.states === undefined ? {} : { states: route.states }),
            ...(route.kinds === undefined ? {} : { kinds: route.kinds }),
          }),
        });
      case 'getJob':
        return json(200, await admin.getJob(route.id));
      case 'createJob': {
        const verified = auth.decodeBody(authRequest, identity, request.raw);
        const text = await readBody(verified.body);
        await verified.verified();
        const { kind, params } = parseCreateJobBody(text);
        request.log.info({ kind, params, accessKeyId: identity.accessKeyId }, 'admin: job created');
        return json(201, await admin.createJob(kind, params));
      }
      case 'stopJob':
        request.log.info({ job: route.id, accessKeyId: identity.accessKeyId }, 'admin: stop requested');
        return json(200, await admin.stopJob(route.id));
      case 'resumeJob':
        request.log.info({ job: route.id, accessKeyId: identity.accessKeyId }, 'admin: resume requested');
        return json(200, await admin.resumeJob(route.id));
    }
  };

  return {
    metrics,
    handles: isOpsPath,
    async handle(request, reply, auth) {
      const { rawPath, rawQuery } = splitUrl(request.raw.url ?? '/');
      try {
        // Metrics are open (as Prometheus scrapes them); everything else authenticates before the
        // request is even parsed, as S3 does: unsigned requests learn nothing.
        if (rawPath === METRICS_PATH) {
          parseOpsRoute(request.method, rawPath, rawQuery);
          const text = await metrics.text();
          return reply
            .header('content-type', metrics.contentType)
            .header('cache-control', 'no-store')
            .send(request.method === 'HEAD' ? undefined : text);
        }
        const authRequest: AuthRequest = {
          method: request.method,
          rawPath,
          query: rawQuery,
          headers: request.headers as AuthRequest['headers'],
        };
        const identity = await auth.authenticate(authRequest);
        const route = parseOpsRoute(request.method, rawPath, rawQuery);
        if (route.kind === 'metrics') throw new Error('unreachable: metrics handled above');
        return await serve(route, request, reply, auth, authRequest, identity);
      } catch (error) {
        if (error instanceof OpsRouteError) {
          if (error.allow !== undefined) reply.header('allow', error.allow);
          return sendError(reply, error.status, error.code, error.message, request.id);
        }
        const e = error as { code?: unknown; status?: unknown; message?: unknown };
        // Authentication errors carry an S3 code and status (SignatureDoesNotMatch, AccessDenied, …).
        if (typeof e.code === 'string' && typeof e.status === 'number')
          return sendError(reply, e.status, e.code, String(e.message ?? e.code), request.id);
        request.log.error({ err: error }, 'admin request failed');
        return sendError(reply, 500, 'InternalError', String((error as Error).message ?? error), request.id);
      }
    },
    observe(request, reply, operation) {
      const { rawPath } = splitUrl(request.raw.url ?? '/');
      metrics.recordRequest({
        operation: operation ?? (isOpsPath(rawPath) ? 'Operator' : 'Unknown'),
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
        bytesIn: lengthOf(request.headers['content-length']),
        bytesOut: lengthOf(reply.getHeader('content-length') as string | number | undefined),
      });
    },
    async close() {
      await admin?.close();
    },
  };
}
