// The transport interface: what the shard server and client need from QUIC or TLS/TCP, and nothing more.
import type { TlsIdentity } from '../tls/cluster-certs.ts';

export type TransportKind = 'quic' | 'tls';

/**
 * One request's bidirectional byte stream (a QUIC stream, or an HTTP/2 stream over TLS).
 * Flow control is end to end: write() waits while the peer is not reading, and a stream that is not read
 * stops its sender.
 */
export interface DuplexStream {
  /** The next chunk from the peer, or null once the peer ended its side. Rejects with TransportError on reset/loss. */
  read(): Promise<Uint8Array | null>;
  /**
   * Resolves once the transport accepted the bytes and no longer refers to `chunk` (the caller may reuse
   * it); rejects with TransportError if the stream is gone.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Optional: the same as write() of the parts concatenated, without copying them into one buffer first
   * (and, like write(), resolved only once the transport no longer refers to the parts).
   * Transports that cannot gather (or do not gain from it) leave it out and callers fall back to write().
   */
  writeParts?(parts: readonly Buffer[]): Promise<void>;
  /** Ends our sending side; reading goes on. */
  end(): Promise<void>;
  /** Resets both directions; pending and later reads/writes reject. Idempotent. */
  abort(reason?: Error): void;
  /**
   * Optional: from now on the stream's received bytes are written where `sink.target()` says, synchronously
   * as they arrive, instead of being queued for read() (bytes already queued are copied in first). With a
   * sink, bytes count against the stream's flow-control window until `release(n)`.
   */
  setSink?(sink: ReceiveSink): void;
  /** With a sink: the consumer is done with `n` received bytes (the peer may send that many more). */
  release?(n: number): void;
  /** With a sink: the last target handed out must not be written any more (its buffer is being given up). */
  retarget?(): void;
}

/** Where a stream's received bytes are written (DuplexStream.setSink). */
export interface ReceiveSink {
  /** A non-empty region the next bytes of the stream are written to, from its start. */
  target(): Buffer;
  /** `n` bytes were written at the start of the last target. */
  commit(n: number): void;
  /** The peer ended its side. */
  end(): void;
  /** The stream failed (reset, connection lost): no more bytes come. */
  fail(err: Error): void;
}

export interface PeerInfo {
  remoteAddress: string;
  remotePort: number;
  /** Subject CN of the peer's (verified) certificate, if it has one. */
  commonName?: string;
}

export interface TransportConnection {
  readonly kind: TransportKind;
  openStream(): Promise<DuplexStream>;
  readonly closed: boolean;
  /** Called once, when the connection is gone (closed by us, by the peer, or found dead by keep-alive). */
  onClose(listener: (err?: Error) => void): void;
  close(): Promise<void>;
}

export interface TransportListener {
  readonly kind: TransportKind;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export type StreamHandler = (stream: DuplexStream, peer: PeerInfo) => void;

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  tls: TlsIdentity;
  /** Concurrent request streams one connection may have open (further ones wait at the peer). Default 64. */
  maxStreamsPerConnection?: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  tls: TlsIdentity;
  /** Name to verify in the server's certificate (e.g. `node-1.predastore.internal`); default: `host`. */
  serverName?: string;
  /** Give up connecting after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export interface Transport {
  readonly kind: TransportKind;
  listen(options: ListenOptions, onStream: StreamHandler): Promise<TransportListener>;
  connect(options: ConnectOptions): Promise<TransportConnection>;
}

export type TransportErrorCode =
  'UNREACHABLE' | 'CONNECT_TIMEOUT' | 'TLS_REJECTED' | 'CONNECTION_LOST' | 'STREAM_RESET' | 'CLOSED';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** How quickly a silent peer is declared dead, on both transports. */
export const DEAD_PEER_TIMEOUT_MS = 2000;
export const KEEP_ALIVE_INTERVAL_MS = 500;
