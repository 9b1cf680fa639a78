// In-memory stand-ins for the s3db client (get/put/delete/batch with preconditions/scan) and the
// shard client (put/fetch/stat/delete), enough to drive the rebalance logic without processes.
import type {
  BatchOp,
  BatchResult,
  KeyInput,
  Precondition,
  ScanOptions,
  ScanPage,
} from '../../../shared/s3db-client/index.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';
import type { WireShardKey } from '../../../shared/protocol/messages.ts';

const hex = (k: KeyInput): string => Buffer.from(typeof k === 'string' ? Buffer.from(k) : k).toString('hex');

export class FakeDb {
  readonly tables = new Map<string, Map<string, { value: Uint8Array; version: number }>>();
  private clock = 0;
  /** Called before every batch is applied (tests change records "meanwhile" here). */
  beforeBatch: ((ops: BatchOp[]) => void) | undefined;

  private table(name: string): Map<string, { value: Uint8Array; version: number }> {
    let t = this.tables.get(name);
    if (t === undefined) this.tables.set(name, (t = new Map()));
    return t;
  }

  async get(table: string, key: KeyInput): Promise<{ value: Uint8Array; version: number } | undefined> {
    return this.table(table).get(hex(key));
  }

  async put(table: string, key: KeyInput, value: Uint8Array): Promise<{ version: number }> {
    const version = ++this.clock;
    this.table(table).set(hex(key), { value: new Uint8Array(value), version });
    return { version };
  }

  async delete(table: string, key: KeyInput): Promise<{ deleted: boolean }> {
    return { deleted: this.table(table).delete(hex(key)) };
  }

  async batch(preconditions: Precondition[], ops: BatchOp[]): Promise<BatchResult> {
    const hook = this.beforeBatch;
    this.beforeBatch = undefined;
    hook?.(ops);
    for (let i = 0; i < preconditions.length; i++) {
      const p = preconditions[i] as Precondition;
      const got = this.table(p.table).get(hex(p.key));
      const ok =
        p.kind === 'absent'
          ? got === undefined
          : p.kind === 'exists'
            ? got !== undefined
            : p.kind === 'valueEquals'
              ? got !== undefined && Buffer.from(got.value).equals(Buffer.from(p.value))
              : (got?.version ?? 0) === p.version;
      if (!ok) return { ok: false, failed: i, reason: `${p.kind} failed` };
    }
    const version = ++this.clock;
    for (const op of ops) {
      if (op.kind === 'put')
        this.table(op.table).set(hex(op.key), { value: new Uint8Array(op.value), version });
      else this.table(op.table).delete(hex(op.key));
    }
    return { ok: true, version };
  }

  async scan(table: string, opts: ScanOptions = {}): Promise<ScanPage> {
    const keys = [...this.table(table).keys()].sort();
    const after = opts.startAfter === undefined ? undefined : hex(opts.startAfter);
    const prefix = opts.prefix === undefined ? '' : hex(opts.prefix);
    const chosen = keys.filter((k) => k.startsWith(prefix) && (after === undefined || k > after));
    const limit = opts.limit ?? 1000;
    const items = chosen.slice(0, limit).map((k) => {
      const v = this.table(table).get(k) as { value: Uint8Array; version: number };
      return { key: new Uint8Array(Buffer.from(k, 'hex')), value: v.value, version: v.version };
    });
    const page: ScanPage = { items, truncated: chosen.length > limit };
    const last = items[items.length - 1];
    if (page.truncated && last) page.nextStartAfter = last.key;
    return page;
  }

  async *scanAll(
    table: string,
    opts: Omit<ScanOptions, 'startAfter'> = {},
  ): AsyncGenerator<ScanPage['items'][number]> {
    let startAfter: Uint8Array | undefined;
    for (;;) {
      const page = await this.scan(table, startAfter ? { ...opts, startAfter } : opts);
      yield* page.items;
      if (!page.truncated || !page.nextStartAfter) return;
      startAfter = page.nextStartAfter;
    }
  }

  count(table: string): number {
    return this.table(table).size;
  }
}

const shardId = (key: WireShardKey): string =>
  `${Buffer.from(key.versionId).toString('hex')}/${key.chunkIndex}/${key.shardIndex}`;

/** Appliances by host name ("node-<id>"); a node in `down` refuses every request. */
export class FakeShards {
  readonly nodes = new Map<string, Map<string, { segments: Buffer[]; k: number; m: number }>>();
  readonly down = new Set<string>();

  private node(peer: ShardPeer): Map<string, { segments: Buffer[]; k: number; m: number }> {
    if (this.down.has(peer.host))
      throw Object.assign(new Error(`${peer.host} unreachable`), { code: 'UNREACHABLE' });
    let n = this.nodes.get(peer.host);
    if (n === undefined) this.nodes.set(peer.host, (n = new Map()));
    return n;
  }

  async putShard(
    peer: ShardPeer,
    key: WireShardKey,
    meta: { rsData: number; rsParity: number },
    segments: Uint8Array[],
  ): Promise<void> {
    this.node(peer).set(shardId(key), {
      segments: segments.map((s) => Buffer.from(s)),
      k: meta.rsData,
      m: meta.rsParity,
    });
  }

  async fetchShard(
    peer: ShardPeer,
    key: WireShardKey,
  ): Promise<{ firstSegment: number; segments: Buffer[]; totalLength: number }> {
    const got = this.node(peer).get(shardId(key));
    if (got === undefined) throw Object.assign(new Error('no such shard'), { code: 'NOT_FOUND' });
    return {
      firstSegment: 0,
      segments: got.segments,
      totalLength: got.segments.reduce((n, s) => n + s.length, 0),
    };
  }

  async shardStat(peer: ShardPeer, key: WireShardKey): Promise<{ segmentCount: number; length: number }> {
    const got = this.node(peer).get(shardId(key));
    if (got === undefined) throw Object.assign(new Error('no such shard'), { code: 'NOT_FOUND' });
    return { segmentCount: got.segments.length, length: got.segments.reduce((n, s) => n + s.length, 0) };
  }

  async stat(peer: ShardPeer): Promise<{ shards: number }> {
    return { shards: this.node(peer).size };
  }

  async deleteShard(peer: ShardPeer, key: WireShardKey): Promise<boolean> {
    return this.node(peer).delete(shardId(key));
  }

  has(node: string, versionId: string, chunkIndex: number, shardIndex: number): boolean {
    return this.nodes.get(`node-${node}`)?.has(`${versionId}/${chunkIndex}/${shardIndex}`) ?? false;
  }

  asClient(): ShardClient {
    return this as unknown as ShardClient;
  }
}

export function fakePeers(ids: readonly string[]): Map<string, ShardPeer> {
  return new Map(ids.map((id) => [id, { host: `node-${id}`, port: 1 }]));
}
