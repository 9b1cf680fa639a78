// Pooled transport connections, a few per appliance, dialled on first use and dropped when they close.
import type { TlsIdentity } from '../tls/cluster-certs.ts';
import type { Transport, TransportConnection } from '../transport/types.ts';
import { formatHostPort } from '../net/host-port.ts';

export interface ShardPeer {
  host: string;
  port: number;
  /** Name to verify in the appliance's certificate, e.g. `node-2.predastore.internal`. Default: host. */
  serverName?: string;
}

export function peerLabel(peer: ShardPeer): string {
  return formatHostPort(peer.host, peer.port);
}

export class ConnectionPool {
  private readonly pools = new Map<string, Array<Promise<TransportConnection>>>();
  private readonly next = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly tls: TlsIdentity,
    private readonly connectionsPerPeer: number,
    private readonly connectTimeoutMs: number,
  ) {}

  /** A connection to `peer`, round-robin over up to `connectionsPerPeer` of them. */
  get(peer: ShardPeer): Promise<TransportConnection> {
    if (this.closed) return Promise.reject(new Error('shard client is closed'));
    const label = `${peerLabel(peer)}/${peer.serverName ?? ''}`;
    let slots = this.pools.get(label);
    if (!slots) {
      slots = [];
      this.pools.set(label, slots);
    }
    if (slots.length < this.connectionsPerPeer) {
      const dial = this.dial(peer, label);
      slots.push(dial);
      return dial;
    }
    const i = (this.next.get(label) ?? 0) % slots.length;
    this.next.set(label, i + 1);
    return slots[i] as Promise<TransportConnection>;
  }

  private dial(peer: ShardPeer, label: string): Promise<TransportConnection> {
    const dial = this.transport.connect({
      host: peer.host,
      port: peer.port,
      tls: this.tls,
      connectTimeoutMs: this.connectTimeoutMs,
      ...(peer.serverName ? { serverName: peer.serverName } : {}),
    });
    const forget = (): void => {
      const slots = this.pools.get(label);
      if (!slots) return;
      const i = slots.indexOf(dial);
      if (i >= 0) slots.splice(i, 1);
      if (slots.length === 0) this.pools.delete(label);
    };
    dial.then(
      (conn) => conn.onClose(forget),
      () => forget(),
    );
    return dial;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()].flat();
    this.pools.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          await (await p).close();
        } catch {
          // a dial that failed has nothing to close
        }
      }),
    );
  }
}
