// The part of the Lambda Node.js runtime's `awslambda` global that response streaming uses.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
import type { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';

export interface HttpResponseMetadata {
  statusCode: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

export type StreamingHandler<TEvent> = (
  event: TEvent,
  responseStream: Writable,
  context: Context,
) => Promise<void>;

export interface AwsLambdaRuntime {
  streamifyResponse<TEvent>(handler: StreamingHandler<TEvent>): unknown;
  HttpResponseStream: { from(responseStream: Writable, metadata: HttpResponseMetadata): Writable };
}

export function lambdaRuntime(): AwsLambdaRuntime | undefined {
  return (globalThis as unknown as { awslambda?: AwsLambdaRuntime }).awslambda;
}
