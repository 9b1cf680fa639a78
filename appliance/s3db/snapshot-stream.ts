import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../shared/checksum/index.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import type { NodeId } from './raft/types.ts';
import { snapshotPath } from './snapshot-file.ts';
import type { SnapshotRef } from './snapshot-file.ts';

/**
 * InstallSnapshot as a stream of bounded chunks over the Raft transport, beside the Raft messages.
 *
 *   leader → follower  OFFER  (snapshot index, size, CRC32C, the encoded Raft snapshot message)
 *   follower → leader  ACCEPT (bytes it already holds of that snapshot: 0, or where a broken stream stopped)
 *   leader → follower  CHUNK  (offset, ≤ chunkBytes) … at most `window` chunks beyond the last ACCEPT
 *   follower → leader  ACCEPT (after appending each chunk)
 *   follower → leader  DONE   (whole file verified against the CRC, renamed, Raft message delivered; or failed)
 *
 * Memory per stream is bounded by window × chunkBytes on both sides. A stream that makes no progress for
 * `stallMs` fails (the leader's Raft core is told, and offers the snapshot again later); the follower keeps
 * its partial file, so the next OFFER of the same snapshot resumes where the data stopped.
 */
export const STREAM_TAG = 0xa5;
const T_OFFER = 1;
const T_ACCEPT = 2;
const T_CHUNK = 3;
const T_DONE = 4;

export interface SnapshotStreamOptions {
  id: NodeId;
  /** Where snapshot files live (the sender reads `snap-<index>`, the receiver writes it). */
  dir: string;
  send: (to: NodeId, payload: Uint8Array) => void;
  /** Receiver: the snapshot file is complete and verified; step this Raft message. */
  deliver: (message: Uint8Array) => void;
  /** Sender: the transfer to `to` finished (ok) or failed. */
  report: (to: NodeId, ok: boolean) => void;
  chunkBytes?: number;
  window?: number;
  stallMs?: number;
}

export interface StreamStats {
  offersSent: number;
  chunksSent: number;
  bytesSent: number;
  resumedAt: number[];
  completed: number;
  failed: number;
}

interface OutStream {
  to: NodeId;
  ref: SnapshotRef;
  message: Uint8Array;
  file: FileHandle | undefined;
  acked: number;
  sent: number;
  accepted: boolean;
  pumping: boolean;
  lastProgress: number;
}

interface InStream {
  from: NodeId;
  ref: SnapshotRef;
  message: Uint8Array;
  path: string;
  file: FileHandle | undefined;
  received: number;
  crc: number;
  writing: Promise<void>;
  finished: boolean;
}

export function isStreamFrame(payload: Uint8Array): boolean {
  return payload[0] === STREAM_TAG;
}

export class SnapshotStreamer {
  private readonly outgoing = new Map<NodeId, OutStream>();
  private readonly incoming = new Map<NodeId, InStream>();
  private readonly chunkBytes: number;
  private readonly window: number;
  private readonly stallMs: number;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  readonly stats: StreamStats = {
    offersSent: 0,
    chunksSent: 0,
    bytesSent: 0,
    resumedAt: [],
    completed: 0,
    failed: 0,
  };

  constructor(private readonly opts: SnapshotStreamOptions) {
    this.chunkBytes = opts.chunkBytes ?? 256 * 1024;
    this.window = opts.window ?? 8;
    this.stallMs = opts.stallMs ?? 5000;
    this.timer = setInterval(() => this.checkStalls(), Math.max(50, Math.floor(this.stallMs / 4)));
    this.timer.unref();
  }

  /** Snapshot indexes in use by transfers (their files must not be pruned). */
  indexesInUse(): Set<number> {
    return new Set([...this.outgoing.values()].map((s) => s.ref.index));
  }

  /** Leader: Raft wants `message` (a snapshot referring to `ref`) delivered to `to`. */
  offer(to: NodeId, ref: SnapshotRef, message: Uint8Array): void {
    if (this.closed) return;
    const current = this.outgoing.get(to);
    if (current && current.ref.index === ref.index) return; // already streaming it
    if (current) this.endOutgoing(current, false);
    const s: OutStream = {
      to,
      ref,
      message,
      file: undefined,
      acked: 0,
      sent: 0,
      accepted: false,
      pumping: false,
      lastProgress: Date.now(),
    };
    this.outgoing.set(to, s);
    this.sendOffer(s);
  }

  private sendOffer(s: OutStream): void {
    this.stats.offersSent++;
    const w = new ByteWriter(64 + s.message.length).u8(STREAM_TAG).u8(T_OFFER);
    w.u64(this.opts.id).u64(s.ref.index).u64(s.ref.size).u32(s.ref.crc).bytes(s.message);
    this.opts.send(s.to, w.finish());
  }

  receive(payload: Uint8Array): void {
    if (this.closed) return;
    let r: ByteReader;
    let type: number;
    let from: number;
    try {
      r = new ByteReader(payload);
      r.u8();
      type = r.u8();
      from = r.u64();
    } catch {
      return;
    }
    try {
      if (type === T_OFFER) {
        const ref = { index: r.u64(), size: r.u64(), crc: r.u32() };
        this.onOffer(from, ref, r.bytes());
      } else if (type === T_ACCEPT) {
        this.onAccept(from, r.u64(), r.u64());
      } else if (type === T_CHUNK) {
        const index = r.u64();
        const offset = r.u64();
        this.onChunk(from, index, offset, r.bytes());
      } else if (type === T_DONE) {
        this.onDone(from, r.u64(), r.u8() === 1);
      }
    } catch {
      // malformed frame: dropped (the stream stalls and restarts)
    }
  }

  // ------------------------------------------------------------------ sender

  private onAccept(from: NodeId, index: number, have: number): void {
    const s = this.outgoing.get(from);
    if (!s || s.ref.index !== index) return;
    if (!s.accepted) {
      s.accepted = true;
      s.sent = Math.min(have, s.ref.size);
      if (have > 0) this.stats.resumedAt.push(have);
    }
    if (have > s.acked) {
      s.acked = have;
      s.lastProgress = Date.now();
    }
    void this.pump(s);
  }

  private async pump(s: OutStream): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      if (!s.file) s.file = await open(snapshotPath(this.opts.dir, s.ref.index), 'r');
      while (
        this.outgoing.get(s.to) === s &&
        s.sent < s.ref.size &&
        s.sent - s.acked < this.window * this.chunkBytes
      ) {
        const n = Math.min(this.chunkBytes, s.ref.size - s.sent);
        const buf = new Uint8Array(n);
        const { bytesRead } = await s.file.read(buf, 0, n, s.sent);
        if (bytesRead !== n) throw new Error('snapshot file shorter than its reference');
        if (this.outgoing.get(s.to) !== s) break;
        const w = new ByteWriter(64 + n).u8(STREAM_TAG).u8(T_CHUNK);
        w.u64(this.opts.id).u64(s.ref.index).u64(s.sent).bytes(buf);
        this.opts.send(s.to, w.finish());
        this.stats.chunksSent++;
        this.stats.bytesSent += n;
        s.sent += n;
      }
    } catch {
      if (this.outgoing.get(s.to) === s) this.endOutgoing(s, false);
    } finally {
      s.pumping = false;
    }
  }

  private onDone(from: NodeId, index: number, ok: boolean): void {
    const s = this.outgoing.get(from);
    if (!s || s.ref.index !== index) return;
    this.endOutgoing(s, ok);
  }

  private endOutgoing(s: OutStream, ok: boolean): void {
    if (this.outgoing.get(s.to) === s) this.outgoing.delete(s.to);
    if (ok) this.stats.completed++;
    else this.stats.failed++;
    void s.file?.close().catch(() => {});
    s.file = undefined;
    this.opts.report(s.to, ok);
  }

  private checkStalls(): void {
    const now = Date.now();
    for (const s of this.outgoing.values()) {
      if (now - s.lastProgress > this.stallMs) this.endOutgoing(s, false);
    }
  }

  // ------------------------------------------------------------------ receiver

  private accept(to: NodeId, index: number, have: number): void {
    const w = new ByteWriter(32).u8(STREAM_TAG).u8(T_ACCEPT).u64(this.opts.id).u64(index).u64(have);
    this.opts.send(to, w.finish());
  }

  private done(to: NodeId, index: number, ok: boolean): void {
    const w = new ByteWriter(32)
      .u8(STREAM_TAG)
      .u8(T_DONE)
      .u64(this.opts.id)
      .u64(index)
      .u8(ok ? 1 : 0);
    this.opts.send(to, w.finish());
  }

  private onOffer(from: NodeId, ref: SnapshotRef, message: Uint8Array): void {
    const current = this.incoming.get(from);
    if (current && current.ref.index === ref.index && current.ref.crc === ref.crc) {
      current.message = message;
      // Resume: once pending writes landed, tell the sender how much is here.
      void current.writing.then(() => {
        if (current.finished) this.done(from, ref.index, true);
        else this.accept(from, ref.index, current.received);
      });
      return;
    }
    if (current) this.dropIncoming(current);
    const s: InStream = {
      from,
      ref,
      message,
      path: join(this.opts.dir, `recv-${from}-${ref.index}.part`),
      file: undefined,
      received: 0,
      crc: 0,
      writing: Promise.resolve(),
      finished: false,
    };
    this.incoming.set(from, s);
    s.writing = open(s.path, 'w').then((fh) => {
      s.file = fh;
    });
    void s.writing.then(
      () => this.accept(from, ref.index, 0),
      () => this.dropIncoming(s),
    );
  }

  private onChunk(from: NodeId, index: number, offset: number, data: Uint8Array): void {
    const s = this.incoming.get(from);
    if (!s || s.ref.index !== index || s.finished) return;
    s.writing = s.writing.then(async () => {
      if (this.incoming.get(from) !== s || !s.file || offset !== s.received) return; // out of order: stall, resume
      if (s.received + data.length > s.ref.size) throw new Error('chunk beyond the snapshot size');
      await s.file.write(data, 0, data.length, offset);
      s.received += data.length;
      s.crc = crc32c(data, s.crc);
      if (s.received < s.ref.size) {
        this.accept(from, index, s.received);
        return;
      }
      await this.finish(s);
    });
    s.writing = s.writing.catch(() => {
      this.done(from, index, false);
      this.dropIncoming(s);
    });
  }

  private async finish(s: InStream): Promise<void> {
    const file = s.file!;
    await file.sync();
    await file.close();
    s.file = undefined;
    if (s.crc !== s.ref.crc) throw new Error('snapshot CRC32C mismatch');
    await rename(s.path, snapshotPath(this.opts.dir, s.ref.index));
    s.finished = true;
    this.opts.deliver(s.message);
    this.done(s.from, s.ref.index, true);
  }

  private dropIncoming(s: InStream): void {
    if (this.incoming.get(s.from) === s) this.incoming.delete(s.from);
    const file = s.file;
    s.file = undefined;
    void (async () => {
      await file?.close().catch(() => {});
      if (!s.finished) await rm(s.path, { force: true });
    })();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.outgoing.values()) void s.file?.close().catch(() => {});
    this.outgoing.clear();
    for (const s of this.incoming.values()) this.dropIncoming(s);
  }
}
