// In-memory appliances for maintenance unit tests: a shard map per node behind the shard client's
// STAT/FETCH/PUT/DELETE calls, with switches for "down" nodes and corrupt shards.
import { ReedSolomonCodec, segmentView } from '../../../shared/erasure/index.ts';
import { makeGeometry, stripeCount, stripeLayout } from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import type { ShardPeer } from '../../../shared/shard-client/index.ts';
import type { WireShardKey } from '../../../shared/protocol/messages.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';

const fail = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const keyOf = (k: WireShardKey): string =>
  `${Buffer.from(k.versionId).toString('hex')}/${k.chunkIndex}/${k.shardIndex}`;

export class FakeShards {
  readonly stores = new Map<string, Map<string, { segments: Buffer[]; k: number; m: number }>>();
  readonly down = new Set<string>();
  readonly corrupt = new Set<string>();
  puts = 0;

  constructor(nodes: string[]) {
    for (const n of nodes) this.stores.set(n, new Map());
  }

  peers(): Map<string, ShardPeer> {
    return new Map([...this.stores.keys()].map((n) => [n, { host: n, port: 1 }]));
  }

  private store(peer: ShardPeer) {
    if (this.down.has(peer.host)) throw fail('UNREACHABLE', `${peer.host} is down`);
    return this.stores.get(peer.host)!;
  }

  async shardStat(peer: ShardPeer, key: WireShardKey) {
    const got = this.store(peer).get(keyOf(key));
    if (!got) throw fail('NOT_FOUND', 'no shard');
    return {
      key,
      rsData: got.k,
      rsParity: got.m,
      segmentCount: got.segments.length,
      length: got.segments.reduce((n, s) => n + s.length, 0),
    };
  }

  async fetchShard(peer: ShardPeer, key: WireShardKey) {
    const got = this.store(peer).get(keyOf(key));
    if (!got) throw fail('NOT_FOUND', 'no shard');
    if (this.corrupt.has(`${peer.host}:${keyOf(key)}`)) throw fail('CORRUPT', 'crc mismatch');
    const segments = got.segments.map((s) => Buffer.from(s));
    return { firstSegment: 0, segments, totalLength: segments.reduce((n, s) => n + s.length, 0) };
  }

  async putShard(
    peer: ShardPeer,
    key: WireShardKey,
    meta: { rsData: number; rsParity: number },
    segments: Uint8Array[],
  ) {
    this.puts++;
    this.store(peer).set(keyOf(key), {
      segments: segments.map((s) => Buffer.from(s)),
      k: meta.rsData,
      m: meta.rsParity,
    });
    this.corrupt.delete(`${peer.host}:${keyOf(key)}`);
  }

  async deleteShard(peer: ShardPeer, key: WireShardKey) {
    return this.store(peer).delete(keyOf(key));
  }

  has(node: string, versionHex: string, chunk: number, shard: number): Buffer[] | undefined {
    return this.stores.get(node)?.get(`${versionHex}/${chunk}/${shard}`)?.segments;
  }
}

/** The k+m shards (segment lists) of one chunk's bytes, encoded independently of the healer. */
export async function encodeChunk(g: Geometry, bytes: Buffer): Promise<Buffer[][]> {
  const { k, m } = g.scheme;
  const codec = new ReedSolomonCodec(g.scheme);
  const shards: Buffer[][] = Array.from({ length: k + m }, () => []);
  for (let s = 0; s < stripeCount(g, bytes.length); s++) {
    const layout = stripeLayout(g, bytes.length, s);
    const L = layout.segmentLength;
    const stripe = { data: Buffer.alloc(k * L), parity: Buffer.alloc(m * L) };
    bytes.copy(stripe.data, 0, layout.chunkOffset, layout.chunkOffset + layout.logicalLength);
    await codec.encode(stripe, L);
    for (let j = 0; j < k + m; j++) shards[j]!.push(Buffer.from(segmentView(stripe, g.scheme, L, j)));
  }
  return shards;
}

/** An object of `size` random-ish bytes in one chunk, stored on `nodes`; returns its record. */
export async function storeObject(
  fake: FakeShards,
  nodes: string[],
  size: number,
  k: number,
  m: number,
): Promise<{ record: ObjectRecord; shards: Buffer[][]; geometry: Geometry }> {
  const geometry = makeGeometry({ k, m }, { segmentSize: 64, maxChunkSize: 64 * k * 8 });
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff));
  const shards = await encodeChunk(geometry, bytes);
  const versionId = Buffer.alloc(16, size & 0xff).toString('hex');
  shards.forEach((segments, j) => fake.stores.get(nodes[j]!)!.set(`${versionId}/0/${j}`, { segments, k, m }));
  const record: ObjectRecord = {
    v: 1,
    versionId,
    size,
    etag: '0'.repeat(32),
    lastModified: 0,
    meta: { contentType: 'x', userMetadata: {} },
    segmentSize: geometry.segmentSize,
    chunkSize: geometry.chunkSize,
    chunks: [{ length: size, k, m, epoch: 0, nodes }],
  };
  return { record, shards, geometry };
}
