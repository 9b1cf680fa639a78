// Typed errors of the shard client. `code` is stable; `peer` names the appliance (host:port).
import { Status, statusName } from '../protocol/errors.ts';

export type ShardClientErrorCode =
  | 'TIMEOUT'
  | 'UNREACHABLE'
  | 'CONNECTION_LOST'
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'DISK_FULL'
  | 'BAD_REQUEST'
  | 'BUSY'
  | 'CANCELLED'
  | 'PROTOCOL'
  | 'REMOTE';

export class ShardClientError extends Error {
  constructor(
    readonly code: ShardClientErrorCode,
    readonly peer: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${peer}: ${message}`, options);
    this.name = new.target.name;
  }
  /** True when trying another appliance (or later) may succeed. */
  get retryable(): boolean {
    return this.code !== 'BAD_REQUEST' && this.code !== 'NOT_FOUND' && this.code !== 'CANCELLED';
  }
}

/** The request did not finish within its timeout. */
export class ShardTimeoutError extends ShardClientError {
  constructor(peer: string, timeoutMs: number, what: string) {
    super('TIMEOUT', peer, `${what} timed out after ${timeoutMs} ms`);
  }
}
/** No connection could be made (refused, TLS rejected, connect timeout). */
export class ShardUnreachableError extends ShardClientError {
  constructor(peer: string, message: string, options?: { cause?: unknown }) {
    super('UNREACHABLE', peer, message, options);
  }
}
/** The connection or stream broke mid-request (peer died, reset). */
export class ShardConnectionLostError extends ShardClientError {
  constructor(peer: string, message: string, options?: { cause?: unknown }) {
    super('CONNECTION_LOST', peer, message, options);
  }
}
export class ShardNotFoundError extends ShardClientError {
  constructor(peer: string, message: string) {
    super('NOT_FOUND', peer, message);
  }
}
/** Stored bytes failed their CRC on the appliance, or bytes were damaged in transit. */
export class ShardCorruptError extends ShardClientError {
  constructor(
    peer: string,
    message: string,
    readonly segmentIndex?: number,
  ) {
    super('CORRUPT', peer, message);
  }
}
export class ShardCancelledError extends ShardClientError {
  constructor(peer: string, what: string, options?: { cause?: unknown }) {
    super('CANCELLED', peer, `${what} was cancelled`, options);
  }
}
/** The appliance answered with another failure status (disk full, busy, bad request, internal). */
export class ShardRemoteError extends ShardClientError {
  constructor(
    code: ShardClientErrorCode,
    peer: string,
    readonly status: number,
    message: string,
  ) {
    super(code, peer, `${statusName(status)}: ${message}`);
  }
}
/** The appliance sent bytes that are not valid protocol. */
export class ShardProtocolError extends ShardClientError {
  constructor(peer: string, message: string, options?: { cause?: unknown }) {
    super('PROTOCOL', peer, message, options);
  }
}

/** Maps a non-OK wire status to the matching typed error. */
export function errorForStatus(peer: string, status: number, message: string): ShardClientError {
  switch (status) {
    case Status.NOT_FOUND:
      return new ShardNotFoundError(peer, message);
    case Status.CORRUPT:
      return new ShardCorruptError(peer, message);
    case Status.DISK_FULL:
      return new ShardRemoteError('DISK_FULL', peer, status, message);
    case Status.BAD_REQUEST:
    case Status.UNSUPPORTED_VERSION:
      return new ShardRemoteError('BAD_REQUEST', peer, status, message);
    case Status.BUSY:
      return new ShardRemoteError('BUSY', peer, status, message);
    case Status.DEADLINE_EXCEEDED:
      return new ShardRemoteError('TIMEOUT', peer, status, message);
    case Status.CANCELLED:
      return new ShardRemoteError('CANCELLED', peer, status, message);
    default:
      return new ShardRemoteError('REMOTE', peer, status, message);
  }
}
