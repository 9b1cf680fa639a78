// An in-memory ShardBackend for transport tests: same contract and error codes as the shard store,
// plus knobs to slow it down or corrupt a shard.
import type {
  SegmentBytes,
  ShardBackend,
  ShardDescription,
  ShardListPage,
  ShardMeta,
} from '../../../appliance/shard-server/backend.ts';
import type { WireShardKey } from '../../../shared/protocol/messages.ts';

function keyString(key: WireShardKey): string {
  return `${Buffer.from(key.versionId).toString('hex')}.${key.chunkIndex.toString(16).padStart(8, '0')}.${key.shardIndex
    .toString(16)
    .padStart(2, '0')}`;
}

function joinSegment(segment: SegmentBytes): Buffer {
  return segment instanceof Uint8Array ? Buffer.from(segment) : Buffer.concat(segment);
}

class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class MemoryBackend implements ShardBackend {
  readonly shards = new Map<string, { key: WireShardKey; meta: ShardMeta; segments: Buffer[] }>();
  /** Delay before each put/readSegments resolves (a slow disk). */
  delayMs = 0;
  /** Keys (keyString) whose reads fail as corrupt. */
  corrupt = new Set<string>();
  putCalls = 0;

  static keyString = keyString;

  private async wait(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }

  private get(key: WireShardKey) {
    const s = this.shards.get(keyString(key));
    if (!s) throw new CodedError('SHARD_NOT_FOUND', `shard ${keyString(key)} not found`);
    return s;
  }

  async put(key: WireShardKey, meta: ShardMeta, segments: SegmentBytes[]): Promise<void> {
    this.putCalls++;
    await this.wait();
    this.shards.set(keyString(key), { key, meta, segments: segments.map(joinSegment) });
  }

  async stat(key: WireShardKey): Promise<ShardDescription> {
    const s = this.get(key);
    return { ...s.meta, segmentLengths: s.segments.map((x) => x.byteLength) };
  }

  async readSegments(key: WireShardKey, first: number, count: number): Promise<Uint8Array[]> {
    await this.wait();
    const s = this.get(key);
    if (this.corrupt.has(keyString(key))) {
      throw new CodedError('CORRUPT_SEGMENT', `corrupt segment ${first} of shard ${keyString(key)}`);
    }
    if (first + count > s.segments.length) throw new CodedError('INVALID_ARGUMENT', 'range past the end');
    return s.segments.slice(first, first + count);
  }

  async delete(key: WireShardKey): Promise<boolean> {
    return this.shards.delete(keyString(key));
  }

  async list(after: WireShardKey | undefined, limit: number): Promise<ShardListPage> {
    const keys = [...this.shards.keys()].sort();
    const from = after ? keyString(after) : '';
    const selected = keys.filter((k) => k > from).slice(0, limit + 1);
    const page = selected.slice(0, limit).map((k) => {
      const s = this.shards.get(k)!;
      return { key: s.key, ...s.meta, segmentLengths: s.segments.map((x) => x.byteLength) };
    });
    const last = page[page.length - 1];
    return selected.length > limit && last ? { entries: page, nextAfter: last.key } : { entries: page };
  }

  async stats() {
    let liveBytes = 0;
    for (const s of this.shards.values()) liveBytes += s.segments.reduce((n, x) => n + x.byteLength, 0);
    return {
      shardCount: this.shards.size,
      liveBytes,
      usedBytes: liveBytes,
      diskTotalBytes: 1 << 30,
      diskFreeBytes: (1 << 30) - liveBytes,
    };
  }
}
