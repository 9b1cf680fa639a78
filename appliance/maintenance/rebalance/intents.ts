// Move intents (s3db table `pd.moves`): written before a shard is copied to its new appliance, deleted
// in the same batch that switches the object record to the copy. An intent left behind (crash, lost
// switch) names a copy nobody may reference; cleaning it deletes that copy. The key is the copy's
// address, so at most one move of a given shard to a given appliance is in flight, and a stale intent
// is first marked 'deleting' (compare-and-set) so a late switch of its mover can no longer succeed.
import { z } from 'zod';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, shardLocation } from '../../../shared/metadata/records.ts';
import { dropShard } from './shard-io.ts';
import type { ShardIo } from './shard-io.ts';

export const MOVES_TABLE = 'pd.moves';

const intentSchema = z.object({
  v: z.literal(1),
  bucket: z.string(),
  key: z.string(),
  /** Job that wrote it. */
  job: z.string(),
  created: z.number().int().nonnegative(),
  state: z.enum(['copying', 'deleting']),
});

export type MoveIntent = z.infer<typeof intentSchema>;

export interface IntentAddress {
  /** Storage id (version or data id, hex) and chunk index of the shard, as shardLocation gives. */
  versionId: string;
  chunkIndex: number;
  shardIndex: number;
  /** Appliance the copy goes to. */
  node: string;
}

export function moveIntentKey(a: IntentAddress): Buffer {
  const node = Buffer.from(a.node, 'utf8');
  const out = Buffer.alloc(16 + 4 + 2 + node.length);
  Buffer.from(a.versionId, 'hex').copy(out, 0, 0, 16);
  out.writeUInt32BE(a.chunkIndex, 16);
  out.writeUInt16BE(a.shardIndex, 20);
  node.copy(out, 22);
  return out;
}

export function parseMoveIntentKey(key: Uint8Array): IntentAddress {
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (b.length < 23) throw new Error(`move intent key ${b.toString('hex')} is too short`);
  return {
    versionId: b.subarray(0, 16).toString('hex'),
    chunkIndex: b.readUInt32BE(16),
    shardIndex: b.readUInt16BE(20),
    node: b.subarray(22).toString('utf8'),
  };
}

export const encodeMoveIntent = (i: MoveIntent): Uint8Array =>
  Buffer.from(JSON.stringify(intentSchema.parse(i)));

export function decodeMoveIntent(bytes: Uint8Array): MoveIntent {
  return intentSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
}

type Db = Pick<S3dbClient, 'get' | 'batch' | 'scanAll'>;

/** Whether the live record of `bucket/key` places the shard at `a` (so the copy there is live data). */
async function isReferenced(db: Db, bucket: string, key: string, a: IntentAddress): Promise<boolean> {
  const got = await db.get(TABLES.objects, objectKey(bucket, key));
  if (got === undefined) return false;
  const record = decodeObjectRecord(got.value);
  return record.chunks.some((chunk, i) => {
    const at = shardLocation(record, i);
    return (
      at.versionId === a.versionId && at.chunkIndex === a.chunkIndex && chunk.nodes[a.shardIndex] === a.node
    );
  });
}

/**
 * Cleans one intent: marks it 'deleting' (unless it already is), deletes the copy unless the live
 * record uses it, then removes the intent. Returns false when the copy could not be deleted yet.
 */
export async function cleanIntent(db: Db, io: ShardIo, key: Uint8Array, value: Uint8Array): Promise<boolean> {
  const a = parseMoveIntentKey(key);
  const intent = decodeMoveIntent(value);
  let current = Buffer.from(value);
  if (intent.state !== 'deleting') {
    const marked = Buffer.from(encodeMoveIntent({ ...intent, state: 'deleting' }));
    const r = await db.batch(
      [{ kind: 'valueEquals', table: MOVES_TABLE, key, value: current }],
      [{ kind: 'put', table: MOVES_TABLE, key, value: marked }],
    );
    if (!r.ok) return false;
    current = marked;
  }
  if (!(await isReferenced(db, intent.bucket, intent.key, a))) {
    const gone = await dropShard(io, a.node, {
      versionId: Buffer.from(a.versionId, 'hex'),
      chunkIndex: a.chunkIndex,
      shardIndex: a.shardIndex,
    });
    if (!gone) return false;
  }
  const r = await db.batch(
    [{ kind: 'valueEquals', table: MOVES_TABLE, key, value: current }],
    [{ kind: 'delete', table: MOVES_TABLE, key }],
  );
  return r.ok;
}

/**
 * Cleans the intents left by an earlier run of job `jobId` and every intent older than `staleMs`.
 * Returns how many were cleaned and how many are left (copies on unreachable appliances).
 */
export async function cleanStaleIntents(
  db: Db,
  io: ShardIo,
  jobId: string,
  staleMs: number,
  now = Date.now(),
): Promise<{ cleaned: number; left: number }> {
  let cleaned = 0;
  let left = 0;
  for await (const item of db.scanAll(MOVES_TABLE, { limit: 500 })) {
    let intent: MoveIntent;
    try {
      intent = decodeMoveIntent(item.value);
    } catch {
      continue;
    }
    if (intent.job !== jobId && now - intent.created < staleMs && intent.state !== 'deleting') continue;
    if (await cleanIntent(db, io, item.key, item.value)) cleaned++;
    else left++;
  }
  return { cleaned, left };
}
