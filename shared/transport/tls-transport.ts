// TLS over TCP transport: mutual TLS 1.3 (Node's tls) carrying a small multiplexer (mux-session.ts), so many
// requests share one connection, each with its own flow control. Node's http2 was measured first and carried
// only about half of what a raw TLS socket does here (docs/transport.md).
import tls, { type TLSSocket } from 'node:tls';
import { DEFAULT_MUX_OPTIONS, MuxSession, type MuxOptions } from './mux-session.ts';
import {
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

/** ALPN name of the shard protocol over TLS; a peer speaking anything else is refused in the handshake. */
const ALPN = 'predastore-shard/1';
/**
 * TLS 1.3 suites, fastest first: with AES-NI, AES-128-GCM costs less CPU per byte than OpenSSL's default
 * first choice, AES-256-GCM. The server's order decides; peers that offer only the others still connect.
 */
const CIPHER_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

function peerInfo(socket: TLSSocket): PeerInfo {
  const cert = socket.getPeerCertificate();
  const cn = cert && typeof cert.subject === 'object' ? cert.subject.CN : undefined;
  return {
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    ...(typeof cn === 'string' ? { commonName: cn } : {}),
  };
}

class TlsConnection implements TransportConnection {
  readonly kind = 'tls' as const;
  constructor(private readonly session: MuxSession) {}
  get closed(): boolean {
    return this.session.closed;
  }
  onClose(listener: (err?: Error) => void): void {
    this.session.onClose(listener);
  }
  async openStream(): Promise<DuplexStream> {
    return this.session.openStream();
  }
  close(): Promise<void> {
    return this.session.close();
  }
}

class TlsListener implements TransportListener {
  readonly kind = 'tls' as const;
  constructor(
    private readonly server: tls.Server,
    private readonly sessions: Set<MuxSession>,
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
  constructor(private readonly mux: Partial<MuxOptions> = {}) {}

  async listen(options: ListenOptions, onStream: StreamHandler): Promise<TransportListener> {
    const muxOptions: MuxOptions = {
      ...DEFAULT_MUX_OPTIONS,
      ...this.mux,
      ...(options.maxStreamsPerConnection ? { maxStreams: options.maxStreamsPerConnection } : {}),
    };
    const sessions = new Set<MuxSession>();
    const server = tls.createServer(
      {
        key: options.tls.keyPem,
        cert: options.tls.certPem,
        ca: options.tls.caPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
        ciphers: CIPHER_SUITES,
        honorCipherOrder: true,
        ALPNProtocols: [ALPN],
      },
      (socket: TLSSocket) => {
        if (!socket.authorized) {
          socket.destroy();
          return;
        }
        const peer = peerInfo(socket);
        const session = new MuxSession(
          socket,
          'server',
          muxOptions,
          `tls from ${peer.remoteAddress}:${peer.remotePort}`,
          (stream) => onStream(stream, peer),
        );
        sessions.add(session);
        session.onClose(() => sessions.delete(session));
      },
    );
    // Handshake failures (no or foreign client certificate) are the peer's problem, not the server's.
    server.on('tlsClientError', () => undefined);
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
    const muxOptions: MuxOptions = { ...DEFAULT_MUX_OPTIONS, ...this.mux };
    return new Promise<TransportConnection>((resolve, reject) => {
      const socket = tls.connect({
        host: options.host,
        port: options.port,
        ca: options.tls.caPem,
        cert: options.tls.certPem,
        key: options.tls.keyPem,
        ...(options.serverName ? { servername: options.serverName } : {}),
        minVersion: 'TLSv1.3',
        ciphers: CIPHER_SUITES,
        rejectUnauthorized: true,
        ALPNProtocols: [ALPN],
      });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(new TransportError('CONNECT_TIMEOUT', `${describe}: no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const tlsProblem = code.startsWith('ERR_SSL') || code.includes('CERT') || code.startsWith('ERR_TLS');
        fail(
          new TransportError(tlsProblem ? 'TLS_REJECTED' : 'UNREACHABLE', `${describe}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      socket.once('close', () => fail(new TransportError('UNREACHABLE', `${describe}: connection closed`)));
      socket.once('secureConnect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        resolve(new TlsConnection(new MuxSession(socket, 'client', muxOptions, describe)));
      });
    });
  }
}
