// A local stand-in for the Lambda Node.js runtime's `awslambda` global (response streaming).
// As in the real runtime, HttpResponseStream.from writes the metadata as a JSON prelude followed
// by 8 NUL bytes into the response stream, and the body follows; the emulator parses that back.
import type { Writable } from 'node:stream';
import type { AwsLambdaRuntime, HttpResponseMetadata, StreamingHandler } from '../runtime.ts';

export const STREAMING = Symbol.for('predastore.lambda.streaming');
export const PRELUDE_DELIMITER = Buffer.alloc(8);

export interface StreamifiedHandler<TEvent = unknown> {
  [STREAMING]: StreamingHandler<TEvent>;
}

export function isStreamified(value: unknown): value is StreamifiedHandler {
  return typeof value === 'function' && STREAMING in value;
}

export const localRuntime: AwsLambdaRuntime = {
  streamifyResponse<TEvent>(handler: StreamingHandler<TEvent>): unknown {
    const wrapped = (): never => {
      throw new Error('a streaming handler is invoked by the runtime with a response stream');
    };
    return Object.assign(wrapped, { [STREAMING]: handler });
  },
  HttpResponseStream: {
    from(responseStream: Writable, metadata: HttpResponseMetadata): Writable {
      responseStream.write(Buffer.concat([Buffer.from(JSON.stringify(metadata)), PRELUDE_DELIMITER]));
      return responseStream;
    },
  },
};

/** Makes `awslambda` available before the handler module is imported (it checks at load time). */
export function installLocalRuntime(): void {
  (globalThis as unknown as { awslambda?: AwsLambdaRuntime }).awslambda = localRuntime;
}
