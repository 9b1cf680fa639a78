// QUIC transport over @matrixai/quic (quiche): one bidirectional QUIC stream per request, mutual TLS with the
// cluster CA, idle timeout + keep-alive so a dead peer is noticed within DEAD_PEER_TIMEOUT_MS.
import { webcrypto, createHmac, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import {
  QUICClient,
  QUICServer,
  QUICSocket,
  events,
  type QUICConnection,
  type QUICStream,
} from '@matrixai/quic';
import type { QUICConfig } from '@matrixai/quic';
import Logger, { LogLevel } from '@matrixai/logger';
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

/** Tunables; the defaults are what the transport benchmark found best on loopback (see docs/transport.md). */
export interface QuicTuning {
  /** UDP payload per packet. Loopback carries up to 65527; real networks want ≤ 1452. */
  maxUdpPayload: number;
  /** Bytes handed to JS per read of a stream (the library's default is 4 KiB). */
  readableChunkSize: number;
  /** Flow-control windows. */
  streamWindow: number;
  connectionWindow: number;
  /** Kernel UDP socket buffers asked for (the kernel caps them at net.core.rmem_max / wmem_max). */
  socketBufferBytes: number;
}

export const DEFAULT_QUIC_TUNING: QuicTuning = {
  maxUdpPayload: 65_527,
  readableChunkSize: 64 * 1024,
  streamWindow: 8 << 20,
  connectionWindow: 32 << 20,
  socketBufferBytes: 8 << 20,
};

function quicConfig(tuning: QuicTuning, maxStreams: number): Partial<QUICConfig> {
  return {
    verifyPeer: true,
    maxIdleTimeout: DEAD_PEER_TIMEOUT_MS,
    keepAliveIntervalTime: KEEP_ALIVE_INTERVAL_MS,
    maxRecvUdpPayloadSize: tuning.maxUdpPayload,
    maxSendUdpPayloadSize: tuning.maxUdpPayload,
    initialMaxData: tuning.connectionWindow,
    initialMaxStreamDataBidiLocal: tuning.streamWindow,
    initialMaxStreamDataBidiRemote: tuning.streamWindow,
    initialMaxStreamDataUni: 0,
    initialMaxStreamsBidi: maxStreams,
    initialMaxStreamsUni: 0,
    maxConnectionWindow: tuning.connectionWindow * 2,
    maxStreamWindow: tuning.streamWindow * 2,
    readableChunkSize: tuning.readableChunkSize,
    applicationProtos: ['predastore-shard/1'],
  };
}

/** Raises the kernel buffers of the library's UDP socket (a protected field; there is no public way). */
function tuneUdpSocket(socket: QUICSocket, bytes: number): void {
  const udp = (socket as unknown as { socket?: UdpSocket }).socket;
  if (!udp) return;
  for (const set of [(n: number) => udp.setRecvBufferSize(n), (n: number) => udp.setSendBufferSize(n)]) {
    try {
      set(bytes);
    } catch {
      // not permitted or not bound: keep the kernel default
    }
  }
}

const serverCryptoOps = {
  async sign(key: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer> {
    const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
    return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength);
  },
  async verify(key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer): Promise<boolean> {
    const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
    const given = Buffer.from(sig);
    return given.byteLength === mac.byteLength && timingSafeEqual(given, mac);
  },
};

const clientCryptoOps = {
  async randomBytes(data: ArrayBuffer): Promise<void> {
    webcrypto.getRandomValues(new Uint8Array(data));
  },
};

function transportError(err: unknown, describe: string): TransportError {
  if (err instanceof TransportError) return err;
  const name = (err as { name?: string } | null)?.name ?? '';
  const message = err instanceof Error ? err.message || name : String(err);
  const lost = /Connection|IdleTimeout/i.test(name);
  return new TransportError(
    lost ? 'CONNECTION_LOST' : 'STREAM_RESET',
    `${describe}: ${name} ${message}`.trim(),
    {
      cause: err,
    },
  );
}

/** The library logs every closed connection at INFO; only its warnings and errors are worth a line. */
const quicLogger = new Logger('quic', LogLevel.WARN);

/** Open streams of one connection, so they all fail at once when the connection dies. */
class StreamSet {
  private readonly streams = new Set<QuicDuplexStream>();
  add(stream: QuicDuplexStream, raw: QUICStream): void {
    this.streams.add(stream);
    void raw.closedP.finally(() => this.streams.delete(stream));
  }
  failAll(err: TransportError): void {
    for (const s of this.streams) s.fail(err);
    this.streams.clear();
  }
}

/**
 * Application-level heartbeat on the first stream of every connection (QUIC stream 0): the client sends a
 * small ping every KEEP_ALIVE_INTERVAL_MS and the server echoes it. QUIC's own idle timeout is not enough: with
 * data in flight, quiche keeps retransmitting to a dead peer for several seconds before it gives up.
 */
interface Liveness {
  /** Data arrived on some stream of the connection: the peer is alive even if its heartbeat is queued. */
  touch(): void;
  stop(): void;
}

function heartbeat(raw: QUICStream, role: 'client' | 'server', liveness: Liveness, onDead: () => void): void {
  const reader = raw.readable.getReader();
  const writer = raw.writable.getWriter();
  reader.closed.catch(() => undefined);
  writer.closed.catch(() => undefined);
  let lastHeard = Date.now();
  let stopped = false;
  liveness.touch = () => {
    lastHeard = Date.now();
  };
  const ping = Buffer.alloc(8);
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) return;
        lastHeard = Date.now();
        if (role === 'server') writer.write(value).catch(() => undefined);
      }
    } catch {
      // the connection is going away; the timer below or the connection's own close handles it
    }
  })();
  const timer = setInterval(() => {
    if (stopped) return;
    if (Date.now() - lastHeard > DEAD_PEER_TIMEOUT_MS) {
      stop();
      onDead();
      return;
    }
    if (role === 'client') {
      ping.writeDoubleBE(Date.now());
      writer.write(Buffer.from(ping)).catch(() => undefined);
    }
  }, KEEP_ALIVE_INTERVAL_MS);
  timer.unref();
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  liveness.stop = stop;
}

function newLiveness(): Liveness {
  return { touch: () => undefined, stop: () => undefined };
}

class QuicDuplexStream implements DuplexStream {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private aborted: TransportError | undefined;

  constructor(
    private readonly stream: QUICStream,
    private readonly describe: string,
    private readonly liveness: Liveness,
  ) {
    this.reader = stream.readable.getReader();
    this.writer = stream.writable.getWriter();
    // Errors surface through read()/write(); these stop "unhandled rejection" noise for closed promises.
    this.reader.closed.catch(() => undefined);
    this.writer.closed.catch(() => undefined);
  }

  async read(): Promise<Uint8Array | null> {
    if (this.aborted) throw this.aborted;
    try {
      const { value, done } = await this.reader.read();
      // fail() cancels the reader, which ends a pending read as "done": that is a failure, not a clean end.
      if (this.aborted) throw this.aborted;
      this.liveness.touch();
      return done ? null : value;
    } catch (err) {
      throw this.aborted ?? transportError(err, this.describe);
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.aborted) throw this.aborted;
    try {
      await this.writer.write(chunk);
      // Accepted writes mean the peer keeps granting flow-control credit (beyond one window): it is alive.
      this.liveness.touch();
    } catch (err) {
      throw this.aborted ?? transportError(err, this.describe);
    }
  }

  async end(): Promise<void> {
    if (this.aborted) throw this.aborted;
    try {
      await this.writer.close();
    } catch (err) {
      throw this.aborted ?? transportError(err, this.describe);
    }
  }

  abort(reason?: Error): void {
    this.fail(
      new TransportError('STREAM_RESET', `${this.describe}: ${reason?.message ?? 'aborted locally'}`),
    );
  }

  /** Fails pending and later reads and writes with `err`, and resets the QUIC stream. */
  fail(err: TransportError): void {
    if (this.aborted) return;
    this.aborted = err;
    this.reader.cancel(err).catch(() => undefined);
    this.writer.abort(err).catch(() => undefined);
    void this.stream.destroy({ force: true, reason: err }).catch(() => undefined);
  }
}

function peerInfo(connection: QUICConnection): PeerInfo {
  let commonName: string | undefined;
  try {
    const der = connection.getRemoteCertsChain()[0];
    if (der) {
      const match = /CN=([^\n,]+)/.exec(new X509Certificate(Buffer.from(der)).subject);
      commonName = match?.[1];
    }
  } catch {
    commonName = undefined;
  }
  return {
    remoteAddress: connection.remoteHost,
    remotePort: connection.remotePort,
    ...(commonName ? { commonName } : {}),
  };
}

class QuicConnection implements TransportConnection {
  readonly kind = 'quic' as const;
  private listeners: Array<(err?: Error) => void> = [];
  private isClosed = false;
  private closeError: Error | undefined;
  private readonly streams = new StreamSet();

  constructor(
    private readonly client: QUICClient,
    private readonly socket: QUICSocket,
    private readonly describe: string,
  ) {
    const connection = client.connection;
    connection.addEventListener(
      events.EventQUICConnectionError.name,
      (evt: Event) => {
        this.closeError = transportError((evt as events.EventQUICConnectionError).detail, describe);
      },
      { once: true },
    );
    client.addEventListener(events.EventQUICClientDestroyed.name, () => this.markClosed(), { once: true });
    void connection.closedP.then(() => this.markClosed());
    heartbeat(connection.newStream('bidi'), 'client', this.liveness, () => {
      this.closeError = new TransportError(
        'CONNECTION_LOST',
        `${describe}: peer silent for more than ${DEAD_PEER_TIMEOUT_MS} ms`,
      );
      this.markClosed();
    });
  }
  private readonly liveness = newLiveness();

  get closed(): boolean {
    return this.isClosed || this.client.closed;
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.liveness.stop();
    this.streams.failAll(
      this.closeError instanceof TransportError
        ? this.closeError
        : new TransportError('CONNECTION_LOST', `${this.describe}: connection closed`),
    );
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l(this.closeError);
    // The client first, then its socket: a socket stopped under a live client makes the library throw from an
    // event listener (an uncaught "Failed to send data on the QUICSocket").
    void this.client
      .destroy({ force: true })
      .catch(() => undefined)
      .finally(() => this.socket.stop({ force: true }).catch(() => undefined));
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.isClosed) listener(this.closeError);
    else this.listeners.push(listener);
  }

  async openStream(): Promise<DuplexStream> {
    if (this.closed)
      throw this.closeError ?? new TransportError('CLOSED', `${this.describe}: connection is closed`);
    try {
      const raw = this.client.connection.newStream('bidi');
      const stream = new QuicDuplexStream(raw, this.describe, this.liveness);
      this.streams.add(stream, raw);
      return stream;
    } catch (err) {
      throw transportError(err, this.describe);
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    try {
      await this.client.destroy({ force: true });
    } finally {
      await this.socket.stop({ force: true }).catch(() => undefined);
      this.markClosed();
    }
  }
}

class QuicListener implements TransportListener {
  readonly kind = 'quic' as const;
  constructor(
    private readonly server: QUICServer,
    private readonly socket: QUICSocket,
    readonly host: string,
    readonly port: number,
  ) {}

  async close(): Promise<void> {
    await this.server.stop({ force: true });
    await this.socket.stop({ force: true });
  }
}

export class QuicTransport implements Transport {
  readonly kind = 'quic' as const;
  constructor(private readonly tuning: QuicTuning = DEFAULT_QUIC_TUNING) {}

  async listen(options: ListenOptions, onStream: StreamHandler): Promise<TransportListener> {
    const socket = new QUICSocket({ logger: quicLogger });
    await socket.start({ host: options.host, port: options.port });
    tuneUdpSocket(socket, this.tuning.socketBufferBytes);
    const hmacKey = webcrypto.getRandomValues(new Uint8Array(32));
    const server = new QUICServer({
      socket,
      logger: quicLogger,
      crypto: { key: hmacKey.buffer, ops: serverCryptoOps },
      config: {
        ...quicConfig(this.tuning, options.maxStreamsPerConnection ?? 64),
        key: options.tls.keyPem,
        cert: options.tls.certPem,
        ca: options.tls.caPem,
      },
    });
    server.addEventListener(events.EventQUICServerError.name, () => undefined);
    server.addEventListener(events.EventQUICServerConnection.name, (evt: Event) => {
      const connection = (evt as events.EventQUICServerConnection).detail;
      const streams = new StreamSet();
      const peer = peerInfo(connection);
      const describe = `quic from ${peer.remoteAddress}:${peer.remotePort}`;
      connection.addEventListener(events.EventQUICConnectionError.name, () => undefined);
      const liveness = newLiveness();
      void connection.closedP.then(() => {
        liveness.stop();
        streams.failAll(new TransportError('CONNECTION_LOST', `${describe}: connection closed`));
      });
      connection.addEventListener(events.EventQUICConnectionStream.name, (sevt: Event) => {
        const raw = (sevt as events.EventQUICConnectionStream).detail;
        if (raw.streamId === 0) {
          // The client's first stream carries the heartbeat, not a request.
          heartbeat(raw, 'server', liveness, () => {
            streams.failAll(new TransportError('CONNECTION_LOST', `${describe}: peer silent`));
            void connection.stop({ force: true }).catch(() => undefined);
          });
          return;
        }
        const stream = new QuicDuplexStream(raw, describe, liveness);
        streams.add(stream, raw);
        onStream(stream, peer);
      });
    });
    await server.start({ host: options.host, port: options.port });
    return new QuicListener(server, socket, options.host, socket.port);
  }

  async connect(options: ConnectOptions): Promise<TransportConnection> {
    const describe = `quic://${options.host}:${options.port}`;
    const socket = new QUICSocket({ logger: quicLogger });
    await socket.start({ host: options.host.includes(':') ? '::' : '0.0.0.0', port: 0 });
    tuneUdpSocket(socket, this.tuning.socketBufferBytes);
    try {
      const client = await QUICClient.createQUICClient(
        {
          host: options.host,
          port: options.port,
          // quiche verifies the server certificate against a DNS name; an IP address never matches.
          serverName: options.serverName ?? 'localhost',
          socket,
          logger: quicLogger,
          crypto: { ops: clientCryptoOps },
          config: {
            ...quicConfig(this.tuning, 64),
            key: options.tls.keyPem,
            cert: options.tls.certPem,
            ca: options.tls.caPem,
          },
        },
        { timer: options.connectTimeoutMs ?? 5000 },
      );
      client.addEventListener(events.EventQUICClientError.name, () => undefined);
      return new QuicConnection(client, socket, describe);
    } catch (err) {
      await socket.stop({ force: true }).catch(() => undefined);
      const name = (err as { name?: string } | null)?.name ?? '';
      const message = err instanceof Error ? err.message || name : String(err);
      const tls = /TLS|Crypto|Cert|Verify/i.test(`${name} ${message}`);
      const timeout = /Timeout|Timed/i.test(`${name} ${message}`);
      throw new TransportError(
        tls ? 'TLS_REJECTED' : timeout ? 'CONNECT_TIMEOUT' : 'UNREACHABLE',
        `${describe}: ${name} ${message}`.trim(),
        { cause: err },
      );
    }
  }
}
