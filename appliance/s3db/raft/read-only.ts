// ReadIndex bookkeeping on the leader (etcd's ReadOnlySafe): a read request records the commit index at the
// time it arrived; it is answered once a quorum acknowledged a heartbeat carrying its ctx, which proves the
// leader was still the leader when the read arrived.
import type { NodeId } from './types.ts';
import { quorum } from './progress.ts';

export interface PendingRead {
  index: number;
  /** Who asked: this node, or the follower that forwarded the request. */
  from: NodeId;
  ctx: Uint8Array;
  acks: Set<NodeId>;
}

export function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  /** Adds a request (duplicates of a pending ctx are ignored). Returns false for a duplicate. */
  add(index: number, from: NodeId, ctx: Uint8Array, self: NodeId): boolean {
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return false;
    this.pending.set(key, { index, from, ctx, acks: new Set([self]) });
    this.queue.push(key);
    return true;
  }

  /** Records an ack for ctx; returns the number of acks among `voters`, or 0 for an unknown ctx. */
  ack(ctx: Uint8Array, from: NodeId, voters: NodeId[]): number {
    const read = this.pending.get(ctxKey(ctx));
    if (read === undefined) return 0;
    read.acks.add(from);
    let n = 0;
    for (const v of voters) if (read.acks.has(v)) n++;
    return n;
  }

  hasQuorum(ctx: Uint8Array, from: NodeId, voters: NodeId[]): boolean {
    return this.ack(ctx, from, voters) >= quorum(voters.length);
  }

  /** Releases the request with ctx and every request queued before it (a quorum ack for a later heartbeat covers them). */
  advance(ctx: Uint8Array): PendingRead[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: PendingRead[] = [];
    for (const k of keys) {
      const read = this.pending.get(k);
      if (read !== undefined) out.push(read);
      this.pending.delete(k);
    }
    return out;
  }

  lastPendingCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.ctx;
  }

  clear(): void {
    this.pending.clear();
    this.queue.length = 0;
  }

  size(): number {
    return this.queue.length;
  }
}
