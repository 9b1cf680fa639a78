// Lambda entry (bundled to dist/lambda/index.mjs):
//   handler    — function URL; streams responses when the runtime offers streamifyResponse
//                (invoke mode RESPONSE_STREAM), otherwise answers buffered with base64 bodies.
//   albHandler — Application Load Balancer target (buffered).
// The gateway is built on the first invocation and reused by the following ones.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { ALBEvent, ALBResult, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { errorXml } from '../s3/documents.ts';
import { bootLambdaGateway } from './bootstrap.ts';
import type { LambdaGateway } from './lambda-gateway.ts';
import { lambdaRuntime } from './runtime.ts';
import { settingsFromEnv } from './settings.ts';

let booting: Promise<LambdaGateway> | undefined;

function gateway(): Promise<LambdaGateway> {
  booting ??= (async () => bootLambdaGateway(settingsFromEnv(process.env), process.env))().catch(
    (error: unknown) => {
      booting = undefined; // the next invocation tries again
      throw error;
    },
  );
  return booting;
}

/** A gateway that cannot start answers 503 with an S3 error document (and logs why). */
function unavailable(
  error: unknown,
  resource: string,
): { statusCode: number; headers: Record<string, string>; body: string } {
  console.error('predastore lambda gateway failed to start:', error);
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  return {
    statusCode: 503,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: errorXml({
      code: 'ServiceUnavailable',
      message: 'The gateway could not start; see its logs.',
      resource,
      requestId,
      hostId: '',
    }),
  };
}

async function streamFunctionUrl(
  event: LambdaFunctionURLEvent,
  responseStream: Writable,
  context: Context,
): Promise<void> {
  const runtime = lambdaRuntime();
  if (runtime === undefined) throw new Error('the Lambda streaming runtime disappeared');
  let gw: LambdaGateway;
  try {
    gw = await gateway();
  } catch (error) {
    const failure = unavailable(error, event.rawPath);
    const out = runtime.HttpResponseStream.from(responseStream, failure);
    await pipeline(Readable.from([failure.body]), out);
    return;
  }
  try {
    const { meta, stream } = await gw.functionUrl(event, context);
    const out = runtime.HttpResponseStream.from(responseStream, {
      statusCode: meta.statusCode,
      headers: meta.headers,
      ...(meta.cookies === undefined ? {} : { cookies: meta.cookies }),
    });
    await pipeline(stream, out);
  } finally {
    // The invocation's metrics as EMF lines, before the environment may be frozen.
    await gw.flushMetrics();
  }
}

async function bufferedFunctionUrl(event: LambdaFunctionURLEvent, context: Context): Promise<unknown> {
  let gw: LambdaGateway;
  try {
    gw = await gateway();
  } catch (error) {
    return unavailable(error, event.rawPath);
  }
  try {
    return await gw.functionUrlBuffered(event, context);
  } finally {
    await gw.flushMetrics();
  }
}

const runtime = lambdaRuntime();
export const handler: unknown =
  runtime === undefined ? bufferedFunctionUrl : runtime.streamifyResponse(streamFunctionUrl);

export async function albHandler(event: ALBEvent, context: Context): Promise<ALBResult> {
  let gw: LambdaGateway;
  try {
    gw = await gateway();
  } catch (error) {
    const failure = unavailable(error, event.path);
    return event.multiValueHeaders === undefined
      ? failure
      : {
          statusCode: failure.statusCode,
          multiValueHeaders: Object.fromEntries(Object.entries(failure.headers).map(([k, v]) => [k, [v]])),
          body: failure.body,
        };
  }
  try {
    return await gw.alb(event, context);
  } finally {
    await gw.flushMetrics();
  }
}

/** Closes the gateway of this environment (tests and the local emulator). */
export async function shutdown(): Promise<void> {
  const current = booting;
  booting = undefined;
  if (current !== undefined) await (await current.catch(() => undefined))?.close();
}
