import tls from 'node:tls';
import type { NodeId } from './raft/types.ts';
import { FrameDecoder, frame } from './frames.ts';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface RaftTransportOptions {
  bindHost: string;
  port: number;
  tls: TlsMaterial;
  /** Where to reach a peer's Raft port (its advertised address). */
  resolve: (id: NodeId) => PeerAddress | undefined;
  /** One encoded Raft message received from any peer. */
  onMessage: (payload: Uint8Array) => void;
  /** A peer could not be reached; queued messages to it were dropped. */
  onUnreachable?: (id: NodeId) => void;
  /** Bytes queued for one peer before further messages are dropped (Raft retransmits). Default 64 MiB. */
  maxQueuedBytes?: number;
}

const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;

/** One outbound connection to a peer. Messages are one-way; replies arrive on the peer's own connection. */
class PeerLink {
  private socket: tls.TLSSocket | undefined;
  private connected = false;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private retryAt = 0;
  private backoff = RECONNECT_MIN_MS;
  private flushScheduled = false;

  constructor(
    private readonly id: NodeId,
    private readonly opts: RaftTransportOptions,
  ) {}

  send(payload: Uint8Array): void {
    const limit = this.opts.maxQueuedBytes ?? 64 * 1024 * 1024;
    if (this.queuedBytes + (this.socket?.writableLength ?? 0) + payload.length > limit) return;
    if (!this.socket) {
      if (Date.now() < this.retryAt) return;
      this.connect();
    }
    this.queue.push(payload);
    this.queuedBytes += payload.length;
    if (this.connected && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private connect(): void {
    const addr = this.opts.resolve(this.id);
    if (!addr) return;
    const socket = tls.connect({
      host: addr.host,
      port: addr.port,
      ca: this.opts.tls.caPem,
      cert: this.opts.tls.certPem,
      key: this.opts.tls.keyPem,
      // Peers are authenticated by the cluster CA (which signs only members), not by host name.
      checkServerIdentity: () => undefined,
    });
    socket.setNoDelay(true);
    this.socket = socket;
    socket.once('secureConnect', () => {
      this.connected = true;
      this.backoff = RECONNECT_MIN_MS;
      this.flush();
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.once('close', () => this.fail(socket));
  }

  private fail(socket: tls.TLSSocket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.connected = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.retryAt = Date.now() + this.backoff;
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
    this.opts.onUnreachable?.(this.id);
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (!socket || !this.connected || this.queue.length === 0) return;
    socket.cork();
    for (const payload of this.queue) for (const part of frame(payload)) socket.write(part);
    socket.uncork();
    this.queue = [];
    this.queuedBytes = 0;
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
  }
}

/** Raft messages over TCP with mutual TLS (cluster CA on both sides), one outbound connection per peer. */
export class RaftTransport {
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<tls.TLSSocket>();

  private constructor(
    private readonly server: tls.Server,
    private readonly opts: RaftTransportOptions,
  ) {}

  static async listen(opts: RaftTransportOptions): Promise<RaftTransport> {
    const server = tls.createServer({
      ca: opts.tls.caPem,
      cert: opts.tls.certPem,
      key: opts.tls.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const transport = new RaftTransport(server, opts);
    server.on('secureConnection', (socket) => transport.accept(socket));
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return transport;
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  private accept(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    this.inbound.add(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) this.opts.onMessage(f);
    });
    socket.on('error', () => {});
    socket.once('close', () => this.inbound.delete(socket));
  }

  send(to: NodeId, payload: Uint8Array): void {
    let link = this.peers.get(to);
    if (!link) {
      link = new PeerLink(to, this.opts);
      this.peers.set(to, link);
    }
    link.send(payload);
  }

  /** Forget a peer's connection (e.g. after its address changed). */
  disconnect(id: NodeId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  async close(): Promise<void> {
    for (const link of this.peers.values()) link.close();
    this.peers.clear();
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
