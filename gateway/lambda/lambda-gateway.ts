// The gateway app behind the two Lambda front doors: the same Fastify app as the server
// (gateway/app.ts), adapted by @fastify/aws-lambda, plus the Lambda size limits.
import awsLambdaFastify from '@fastify/aws-lambda';
import type { LambdaFastifyOptions, LambdaResponse, LambdaResponseStreamed } from '@fastify/aws-lambda';
import type { ALBEvent, ALBResult, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildGatewayApp } from '../app.ts';
import { createGatewayAuth } from '../auth-adapter.ts';
import type { Backend } from '../backend/types.ts';
import type { HeaderBag } from '../s3/headers.ts';
import { headerValue } from '../s3/headers.ts';
import type { ClusterConfig } from '../../shared/config/index.ts';
import {
  DOOR_HEADER,
  NO_LENGTH,
  URL_HEADER,
  albEventForApp,
  functionUrlEventForApp,
  originalUrl,
} from './events.ts';
import { MAX_ALB_RESPONSE_BODY, checkRequestSize, responseTooLarge } from './limits.ts';
import type { LambdaFrontDoor } from './limits.ts';
import type { GatewayOps } from '../admin/ops.ts';
import { FLUSH_WAIT_MS, trackRequests } from './metrics.ts';
import type { EmfOutput } from './metrics.ts';

export interface LambdaGatewayOptions {
  config: ClusterConfig;
  backend: Backend;
  signedHost?: string;
  logLevel?: string;
  /** Metrics, admin API and status page under /_predastore/ (gateway/admin, as on the host gateway). */
  ops?: GatewayOps;
  /** Request metrics written as EMF lines by flushMetrics() (gateway/lambda/metrics.ts). */
  emf?: EmfOutput;
}

export interface LambdaGateway {
  /** Function URL in RESPONSE_STREAM mode: metadata plus a body stream. */
  functionUrl(event: LambdaFunctionURLEvent, context: Context): Promise<LambdaResponseStreamed>;
  /** Function URL in BUFFERED mode (no streaming runtime): binary bodies base64-encoded. */
  functionUrlBuffered(event: LambdaFunctionURLEvent, context: Context): Promise<LambdaResponse>;
  /** ALB target: buffered, bodies always base64, single- or multi-value headers as the event uses. */
  alb(event: ALBEvent, context: Context): Promise<ALBResult>;
  app: FastifyInstance;
  /** Writes the EMF lines of the requests finished so far (after each invocation). */
  flushMetrics(): Promise<void>;
  close(): Promise<void>;
}

const doorOf = new WeakMap<FastifyRequest, LambdaFrontDoor>();

function takeDoor(request: FastifyRequest): LambdaFrontDoor {
  const [door, flag] = (headerValue(request.headers as HeaderBag, DOOR_HEADER) ?? '').split(';');
  delete request.headers[DOOR_HEADER];
  if (flag === NO_LENGTH) delete request.headers['content-length'];
  // Routing and SigV4 read request.raw.url: give them the client's URL, dot segments and all.
  const url = originalUrl(headerValue(request.headers as HeaderBag, URL_HEADER));
  delete request.headers[URL_HEADER];
  if (url !== undefined) request.raw.url = url;
  return door === 'alb' ? 'alb' : 'function-url';
}

// Headers that survive when a buffered response is replaced by an error.
const KEEP_ON_ERROR = new Set(['x-amz-request-id', 'x-amz-id-2', 'server']);

function refuseLargeAlbResponse(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  if (doorOf.get(request) !== 'alb' || reply.statusCode >= 300) return payload;
  const length = Number(reply.getHeader('content-length') ?? 0);
  if (request.method === 'HEAD' || !(length > MAX_ALB_RESPONSE_BODY)) return payload;
  if (payload !== null && typeof payload === 'object' && 'destroy' in payload)
    (payload as { destroy(): void }).destroy();
  for (const name of Object.keys(reply.getHeaders()))
    if (!KEEP_ON_ERROR.has(name.toLowerCase())) reply.removeHeader(name);
  throw responseTooLarge(length);
}

export function createLambdaGateway(options: LambdaGatewayOptions): LambdaGateway {
  const { config } = options;
  const auth = createGatewayAuth(config.auth, {
    region: config.region,
    ...(options.signedHost === undefined ? {} : { signedHostOverride: options.signedHost }),
  });
  const app = buildGatewayApp({
    backend: options.backend,
    auth,
    region: config.region,
    ...(config.gateway.domain === undefined ? {} : { domain: config.gateway.domain }),
    logger: { level: options.logLevel ?? 'warn' },
    ...(options.ops === undefined ? {} : { ops: options.ops }),
  });
  const requests = trackRequests(app);
  app.addHook('onRequest', async (request) => {
    const door = takeDoor(request);
    doorOf.set(request, door);
    checkRequestSize(door, request.headers as HeaderBag);
  });
  app.addHook('onSend', async (request, reply, payload) => refuseLargeAlbResponse(request, reply, payload));

  const streamed = awsLambdaFastify<LambdaFunctionURLEvent, LambdaFastifyOptions, LambdaResponseStreamed>(
    app,
    {
      payloadAsStream: true,
      decorateRequest: false,
    },
  );
  // Buffered doors: every body base64 both ways, or binary responses get mangled as UTF-8.
  const buffered = awsLambdaFastify<LambdaFunctionURLEvent>(app, {
    decorateRequest: false,
    enforceBase64: () => true,
  });
  const albSingle = awsLambdaFastify<ALBEvent>(app, { decorateRequest: false, enforceBase64: () => true });
  const albMulti = awsLambdaFastify<ALBEvent>(app, {
    decorateRequest: false,
    enforceBase64: () => true,
    albMultiValueHeaders: true,
  });

  return {
    app,
    functionUrl: (event, context) => streamed(functionUrlEventForApp(event), context),
    functionUrlBuffered: (event, context) => buffered(functionUrlEventForApp(event), context),
    async alb(event, context) {
      const proxy = event.multiValueHeaders === undefined ? albSingle : albMulti;
      const result = await proxy(albEventForApp(event), context);
      if (event.multiValueHeaders === undefined) return result;
      // Multi-value mode: ALB reads only multiValueHeaders.
      const { headers: _single, ...rest } = result as LambdaResponse & {
        multiValueHeaders?: Record<string, string[]>;
      };
      return rest;
    },
    async flushMetrics() {
      if (options.emf === undefined) return;
      await requests.settled(FLUSH_WAIT_MS);
      for (const line of options.emf.recorder.flush()) options.emf.write(line);
    },
    close: () => app.close(),
  };
}
