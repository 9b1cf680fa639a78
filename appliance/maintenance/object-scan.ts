// Walks the object records (pd.objects) page by page, and maps stored shard locations back to the
// objects that own them (scrub findings name a shard; its repair task needs bucket, key and chunk).
import { TABLES } from '../../shared/metadata/keys.ts';
import { decodeObjectRecord, shardLocation } from '../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';

export interface ScannedObject {
  /** The objects-table key (bucket 0x00 key). */
  storedKey: Uint8Array;
  bucket: string;
  key: string;
  record: ObjectRecord;
}

/** Bucket and key of an objects-table key (bucket names never contain 0x00). */
export function splitObjectKey(stored: Uint8Array): { bucket: string; key: string } {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const at = bytes.indexOf(0);
  if (at < 0) throw new Error(`objects key ${bytes.toString('hex')} has no bucket separator`);
  return { bucket: bytes.subarray(0, at).toString('utf8'), key: bytes.subarray(at + 1).toString('utf8') };
}

/** Every object record after `startAfter` (records that do not decode are reported and skipped). */
export async function* scanObjects(
  db: Pick<S3dbClient, 'scan'>,
  options: {
    startAfter?: Uint8Array;
    prefix?: Uint8Array;
    pageSize?: number;
    onBad?: (e: unknown) => void;
  } = {},
): AsyncGenerator<ScannedObject> {
  let startAfter = options.startAfter;
  for (let pages = 0; pages < 10_000_000; pages++) {
    const page = await db.scan(TABLES.objects, {
      limit: options.pageSize ?? 200,
      ...(startAfter ? { startAfter } : {}),
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    for (const item of page.items) {
      try {
        yield { storedKey: item.key, ...splitObjectKey(item.key), record: decodeObjectRecord(item.value) };
      } catch (error) {
        options.onBad?.(error);
      }
    }
    if (!page.truncated || !page.nextStartAfter) return;
    startAfter = page.nextStartAfter;
  }
}

export interface ShardOwner {
  bucket: string;
  key: string;
  /** The object's version id and the chunk index within the object. */
  versionId: string;
  chunkIndex: number;
}

/** Location "storedVersionHex:storedChunk" → the object chunk stored there. */
export type LocationIndex = Map<string, ShardOwner>;

export const locationKey = (versionHex: string, chunkIndex: number): string => `${versionHex}:${chunkIndex}`;

/** Adds every chunk of an object to the index (pure). */
export function indexObject(index: LocationIndex, object: Omit<ScannedObject, 'storedKey'>): void {
  object.record.chunks.forEach((_, chunkIndex) => {
    const at = shardLocation(object.record, chunkIndex);
    index.set(locationKey(at.versionId, at.chunkIndex), {
      bucket: object.bucket,
      key: object.key,
      versionId: object.record.versionId,
      chunkIndex,
    });
  });
}

/**
 * Owners of the given stored version ids, found by one scan of the object records. Choice (see
 * docs/maintenance.md): no version → object index is kept at PUT; scrub findings are rare and a scan
 * costs far less than the scrub that found them.
 */
export async function findOwners(
  db: Pick<S3dbClient, 'scan'>,
  versions: ReadonlySet<string>,
): Promise<LocationIndex> {
  const index: LocationIndex = new Map();
  if (versions.size === 0) return index;
  for await (const object of scanObjects(db)) {
    const touches = object.record.chunks.some((_, i) =>
      versions.has(shardLocation(object.record, i).versionId),
    );
    if (touches) indexObject(index, object);
  }
  return index;
}
