// TLS over TCP transport: HTTP/2 over mutual TLS, one HTTP/2 stream per request, many per connection.
// HTTP/2 gives per-stream flow control (backpressure) and stream resets without inventing a multiplexer.
import http2, { constants as h2 } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { NodeDuplexStream } from './node-stream-adapter.ts';
import {
  DEAD_PEER_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  TransportError,
  type ConnectOptions,
  type DuplexStream,
  type ListenOptions,
  type PeerInfo,
  type StreamHandler,
  type Transport,
  type TransportConnection,
  type TransportListener,
} from './types.ts';

/** Flow-control windows: large enough that one stream can fill a fast link, small enough to bound memory. */
const STREAM_WINDOW = 4 << 20;
const CONNECTION_WINDOW = 32 << 20;
const MAX_FRAME_SIZE = 1 << 20;
const REQUEST_PATH = '/predastore.shard/v1';

function settings(maxStreams: number): http2.Settings {
  return {
    initialWindowSize: STREAM_WINDOW,
    maxFrameSize: MAX_FRAME_SIZE,
    maxConcurrentStreams: maxStreams,
    enablePush: false,
  };
}

function peerInfo(socket: TLSSocket | undefined): PeerInfo {
  const cert = socket?.getPeerCertificate?.();
  const cn = cert && typeof cert.subject === 'object' ? cert.subject.CN : undefined;
  return {
    remoteAddress: socket?.remoteAddress ?? '',
    remotePort: socket?.remotePort ?? 0,
    ...(typeof cn === 'string' ? { commonName: cn } : {}),
  };
}

/** Pings the peer; destroys the session when no answer arrives within the dead-peer timeout. */
function keepAlive(session: http2.Http2Session, onDead: (err: TransportError) => void): () => void {
  let lastAnswer = Date.now();
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return;
    if (Date.now() - lastAnswer > DEAD_PEER_TIMEOUT_MS) {
      onDead(
        new TransportError(
          'CONNECTION_LOST',
          `peer did not answer keep-alive for ${DEAD_PEER_TIMEOUT_MS} ms`,
        ),
      );
      return;
    }
    try {
      session.ping((err) => {
        if (!err) lastAnswer = Date.now();
      });
    } catch {
      // too many outstanding pings: the peer is slow; the timeout above decides
    }
  }, KEEP_ALIVE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

class TlsConnection implements TransportConnection {
  readonly kind = 'tls' as const;
  private listeners: Array<(err?: Error) => void> = [];
  private closeError: Error | undefined;
  private isClosed = false;
  private readonly stopKeepAlive: () => void;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly describe: string,
  ) {
    this.stopKeepAlive = keepAlive(session, (err) => {
      this.closeError = err;
      session.destroy(err);
    });
    session.on('error', (err: Error) => {
      this.closeError ??= new TransportError('CONNECTION_LOST', `${describe}: ${err.message}`, {
        cause: err,
      });
    });
    session.on('goaway', () => {
      this.closeError ??= new TransportError('CONNECTION_LOST', `${describe}: peer is going away`);
    });
    session.on('close', () => this.markClosed());
  }

  get closed(): boolean {
    return this.isClosed || this.session.closed || this.session.destroyed;
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopKeepAlive();
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l(this.closeError);
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.isClosed) listener(this.closeError);
    else this.listeners.push(listener);
  }

  async openStream(): Promise<DuplexStream> {
    if (this.closed) {
      throw this.closeError ?? new TransportError('CLOSED', `${this.describe}: connection is closed`);
    }
    let req: http2.ClientHttp2Stream;
    try {
      req = this.session.request({ ':method': 'POST', ':path': REQUEST_PATH }, { endStream: false });
    } catch (err) {
      throw new TransportError('CONNECTION_LOST', `${this.describe}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const stream = new NodeDuplexStream(
      req,
      () => {
        if (!req.destroyed) req.close(h2.NGHTTP2_CANCEL);
      },
      this.describe,
      () => (req.rstCode ?? 0) !== 0,
    );
    req.on('response', (headers) => {
      const status = headers[':status'];
      if (status !== 200)
        stream.abort(new TransportError('STREAM_RESET', `${this.describe}: HTTP status ${status}`));
    });
    return stream;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    await new Promise<void>((resolve) => {
      this.onClose(() => resolve());
      this.session.close();
      // Streams still open would hold close(); a bounded grace, then force.
      setTimeout(() => this.session.destroy(), 250).unref();
    });
  }
}

class TlsListener implements TransportListener {
  readonly kind = 'tls' as const;
  constructor(
    private readonly server: http2.Http2SecureServer,
    private readonly sessions: Set<http2.ServerHttp2Session>,
    readonly host: string,
    readonly port: number,
  ) {}

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await closed;
  }
}

export class TlsTransport implements Transport {
  readonly kind = 'tls' as const;

  async listen(options: ListenOptions, onStream: StreamHandler): Promise<TransportListener> {
    const maxStreams = options.maxStreamsPerConnection ?? 64;
    const sessions = new Set<http2.ServerHttp2Session>();
    const server = http2.createSecureServer({
      key: options.tls.keyPem,
      cert: options.tls.certPem,
      ca: options.tls.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: false,
      minVersion: 'TLSv1.3',
      settings: settings(maxStreams),
      maxSessionMemory: 64,
    });
    server.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.setLocalWindowSize(CONNECTION_WINDOW);
      const stop = keepAlive(session, (err) => session.destroy(err));
      session.on('close', () => {
        stop();
        sessions.delete(session);
      });
      session.on('error', () => undefined);
    });
    server.on('stream', (h2stream: http2.ServerHttp2Stream, headers) => {
      if (headers[':path'] !== REQUEST_PATH || headers[':method'] !== 'POST') {
        h2stream.respond({ ':status': 404 }, { endStream: true });
        return;
      }
      h2stream.respond({ ':status': 200 });
      const socket = h2stream.session?.socket as TLSSocket | undefined;
      const peer = peerInfo(socket);
      const stream = new NodeDuplexStream(
        h2stream,
        () => {
          if (!h2stream.destroyed) h2stream.close(h2.NGHTTP2_CANCEL);
        },
        `stream from ${peer.remoteAddress}:${peer.remotePort}`,
        () => (h2stream.rstCode ?? 0) !== 0,
      );
      onStream(stream, peer);
    });
    // TLS handshake failures (no or foreign client certificate) are the peer's problem, not the server's.
    server.on('tlsClientError', () => undefined);
    server.on('sessionError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('TLS listener has no TCP address');
    return new TlsListener(server, sessions, options.host, address.port);
  }

  connect(options: ConnectOptions): Promise<TransportConnection> {
    const describe = `tls://${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    return new Promise<TransportConnection>((resolve, reject) => {
      const authority = `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
      const session = http2.connect(authority, {
        ca: options.tls.caPem,
        cert: options.tls.certPem,
        key: options.tls.keyPem,
        ...(options.serverName ? { servername: options.serverName } : {}),
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        settings: settings(64),
        maxSessionMemory: 64,
      });
      const timer = setTimeout(() => {
        fail(new TransportError('CONNECT_TIMEOUT', `${describe}: no connection within ${timeoutMs} ms`));
        session.destroy();
      }, timeoutMs);
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      session.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const tlsProblem =
          code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'ERR_TLS_CERT_ALTNAME_INVALID';
        fail(
          new TransportError(tlsProblem ? 'TLS_REJECTED' : 'UNREACHABLE', `${describe}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      session.once('close', () => fail(new TransportError('UNREACHABLE', `${describe}: connection closed`)));
      session.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.setLocalWindowSize(CONNECTION_WINDOW);
        resolve(new TlsConnection(session, describe));
      });
    });
  }
}
