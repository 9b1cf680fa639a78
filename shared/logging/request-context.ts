// The request id of the S3 request being served, carried through async calls (AsyncLocalStorage), so
// the shard and s3db clients can send it without every data-path function passing it along.
import { AsyncLocalStorage } from 'node:async_hooks';

interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it starts) with `requestId` as the current request id. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The request id of the request being served here, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Header that carries the request id to s3db (the s3db server logs it). */
export const REQUEST_ID_HEADER = 'x-predastore-request-id';
