// A local Lambda function URL: an HTTP server that turns each request into a function URL event,
// invokes the handler with a response stream (RESPONSE_STREAM mode) or buffered, and writes the
// result back. It enforces Lambda's 6 MB invocation payload limit as AWS does (413 before the
// handler runs), so size behaviour seen locally is the behaviour seen on AWS.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { functionUrlEvent } from './function-url-event.ts';
import { PRELUDE_DELIMITER, STREAMING, isStreamified } from './streaming-runtime.ts';
import type { HttpResponseMetadata } from '../runtime.ts';
import { formatHostPort } from '../../../shared/net/host-port.ts';

/** Lambda's synchronous invocation payload limit (the event JSON), in bytes. */
export const MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024;

export interface FunctionUrlEmulatorOptions {
  /** The module's `handler` export: streamified, or a buffered async handler. */
  handler: unknown;
  port?: number;
  host?: string;
  domainName?: string;
}

export interface FunctionUrlEmulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

function lambdaContext(): Context {
  const deadline = Date.now() + 900_000;
  const fail = (): never => {
    throw new Error('callback-style completion is not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'predastore-gateway',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:predastore-gateway',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/predastore-gateway',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

/** Collects the body, or reports that the invocation payload would be too large. */
async function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  const parts: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_INVOKE_PAYLOAD)
      tooLarge = true; // keep draining so the client sees the answer
    else parts.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(parts);
}

function sendPlain(response: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ Message: message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** A Writable that reads the prelude (metadata, 8 NUL bytes) and forwards the body to `response`. */
class ResponseStreamWriter extends Writable {
  private pending: Buffer = Buffer.alloc(0);
  private started = false;

  constructor(private readonly response: ServerResponse) {
    super();
  }

  private start(metadata: HttpResponseMetadata): void {
    const headers: Record<string, string | string[]> = { ...(metadata.headers ?? {}) };
    if (metadata.cookies !== undefined && metadata.cookies.length > 0)
      headers['set-cookie'] = metadata.cookies;
    this.response.writeHead(metadata.statusCode, headers);
    this.started = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.started) {
      this.forward(chunk, callback);
      return;
    }
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = this.pending.indexOf(PRELUDE_DELIMITER);
    if (end < 0) {
      callback();
      return;
    }
    let metadata: HttpResponseMetadata;
    try {
      metadata = JSON.parse(this.pending.subarray(0, end).toString('utf8')) as HttpResponseMetadata;
    } catch (error) {
      callback(new Error(`invalid response prelude: ${(error as Error).message}`));
      return;
    }
    const rest = this.pending.subarray(end + PRELUDE_DELIMITER.length);
    this.pending = Buffer.alloc(0);
    this.start(metadata);
    if (rest.length > 0) this.forward(rest, callback);
    else callback();
  }

  private forward(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.response.write(chunk)) callback();
    else this.response.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    // No prelude: Lambda answers 200 with the bytes as an octet stream.
    if (!this.started) {
      this.response.writeHead(200, { 'content-type': 'application/octet-stream' });
      this.response.write(this.pending);
    }
    this.response.end(() => callback());
  }
}

interface BufferedResult {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

async function invoke(
  handler: unknown,
  event: LambdaFunctionURLEvent,
  response: ServerResponse,
): Promise<void> {
  if (isStreamified(handler)) {
    const writer = new ResponseStreamWriter(response);
    await handler[STREAMING](event, writer, lambdaContext());
    if (!writer.writableEnded) writer.end();
    await new Promise<void>((resolve, reject) => {
      if (writer.writableFinished) resolve();
      else {
        writer.once('finish', resolve);
        writer.once('error', reject);
      }
    });
    return;
  }
  if (typeof handler !== 'function') throw new Error('the module exports no handler function');
  const result =
    (await (handler as (e: unknown, c: Context) => Promise<BufferedResult>)(event, lambdaContext())) ?? {};
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded === true ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = { ...(result.headers ?? {}) };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

export async function startFunctionUrlEmulator(
  options: FunctionUrlEmulatorOptions,
): Promise<FunctionUrlEmulator> {
  const host = options.host ?? '127.0.0.1';
  let domainName = options.domainName ?? host;
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      if (body === 'too-large') {
        sendPlain(
          response,
          413,
          `Request must be smaller than ${MAX_INVOKE_PAYLOAD} bytes for the InvokeFunction operation`,
        );
        return;
      }
      const event = functionUrlEvent({
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        rawHeaders: request.rawHeaders,
        body,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        domainName,
      });
      if (Buffer.byteLength(JSON.stringify(event)) > MAX_INVOKE_PAYLOAD) {
        sendPlain(
          response,
          413,
          `Request must be smaller than ${MAX_INVOKE_PAYLOAD} bytes for the InvokeFunction operation`,
        );
        return;
      }
      await invoke(options.handler, event, response);
    })().catch((error: unknown) => {
      console.error('function invocation failed:', error);
      if (!response.headersSent) sendPlain(response, 502, 'Internal Server Error');
      else response.destroy();
    });
  });
  // Longer than S3 clients keep idle sockets around (SDK agents reuse sockets idle for seconds): a short
  // server timeout races a client reusing the socket at the moment it closes (ECONNRESET on a busy machine).
  // 65 s, like the gateway's own listener (Fastify: 72 s) and above an ALB's default 60 s idle timeout.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (options.domainName === undefined) domainName = `${host}:${port}`;
  return {
    url: `http://${formatHostPort(host, port)}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
