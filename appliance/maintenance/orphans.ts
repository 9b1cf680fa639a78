// Orphan shards: shards on this appliance whose version nothing refers to — no object record, no
// multipart part, no garbage record (a gateway killed between writing shards and committing). A
// version is deleted only after every sweep over at least `graceMs` found it unreferenced, so the
// shards of a PUT still in flight (written, not yet committed) are never touched.
//
// Why this is safe: references move parts → objects → garbage (a part becomes a manifest chunk, a
// replaced version becomes garbage, atomically); the sweep lists local shards FIRST and then reads
// those tables in that same order, so a reference that moves during the sweep is seen in its new
// table. A shard written after the listing is not a candidate this time.
import { TABLES } from '../../shared/metadata/keys.ts';
import { decodeGarbageRecord, shardLocation } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { ShardKey } from '../store/index.ts';
import { scanObjects } from './object-scan.ts';
import type { MaintenanceStats } from './stats.ts';

/** First-seen times of unreferenced versions (pure). */
export class OrphanTracker {
  private readonly firstSeen = new Map<string, number>();

  constructor(readonly graceMs: number) {}

  /** Records this sweep's unreferenced versions; returns those unreferenced for at least the grace. */
  observe(unreferenced: ReadonlySet<string>, now: number): string[] {
    for (const version of [...this.firstSeen.keys()])
      if (!unreferenced.has(version)) this.firstSeen.delete(version);
    const due: string[] = [];
    for (const version of unreferenced) {
      const first = this.firstSeen.get(version);
      if (first === undefined) this.firstSeen.set(version, now);
      else if (now - first >= this.graceMs) due.push(version);
    }
    return due.sort();
  }

  get size(): number {
    return this.firstSeen.size;
  }
}

export interface OrphanDeps {
  store: {
    list(options: { after?: ShardKey; limit: number }): Promise<{ keys: ShardKey[]; next?: ShardKey }>;
    delete(key: ShardKey): Promise<boolean>;
  };
  db: Pick<S3dbClient, 'scan'>;
  tracker: OrphanTracker;
  stats: MaintenanceStats;
  log(line: string): void;
}

/** Version ids the shards on this appliance belong to (hex) → their keys. */
async function localVersions(store: OrphanDeps['store']): Promise<Map<string, ShardKey[]>> {
  const out = new Map<string, ShardKey[]>();
  let after: ShardKey | undefined;
  for (let page = 0; page < 10_000_000; page++) {
    const got = await store.list({ ...(after ? { after } : {}), limit: 1000 });
    for (const key of got.keys) {
      const hex = Buffer.from(key.versionId).toString('hex');
      const list = out.get(hex) ?? [];
      list.push(key);
      out.set(hex, list);
    }
    if (got.next === undefined) break;
    after = got.next;
  }
  return out;
}

/** Every version id some record refers to: parts, then objects, then garbage (this order matters). */
export async function referencedVersions(db: Pick<S3dbClient, 'scan'>): Promise<Set<string>> {
  const seen = new Set<string>();
  for await (const item of scanTable(db, TABLES.parts)) {
    try {
      const dataId = (JSON.parse(Buffer.from(item.value).toString('utf8')) as { dataId?: unknown }).dataId;
      if (typeof dataId === 'string') seen.add(dataId);
    } catch {
      // Not a part record this version knows: it cannot name a version we could miss.
    }
  }
  for await (const object of scanObjects(db)) {
    seen.add(object.record.versionId);
    object.record.chunks.forEach((_, i) => seen.add(shardLocation(object.record, i).versionId));
  }
  for await (const item of scanTable(db, TABLES.garbage)) {
    try {
      const record = decodeGarbageRecord(item.value);
      seen.add(record.versionId);
      for (const ref of record.shards) if (ref.versionId !== undefined) seen.add(ref.versionId);
    } catch {
      // An unreadable garbage record: its version stays unknown; the grace period still protects.
    }
  }
  return seen;
}

async function* scanTable(db: Pick<S3dbClient, 'scan'>, table: string) {
  let startAfter: Uint8Array | undefined;
  for (let pages = 0; pages < 10_000_000; pages++) {
    const page = await db.scan(table, { limit: 500, ...(startAfter ? { startAfter } : {}) });
    yield* page.items;
    if (!page.truncated || !page.nextStartAfter) return;
    startAfter = page.nextStartAfter;
  }
}

export interface OrphanSweepOutcome {
  localVersions: number;
  unreferenced: number;
  deletedVersions: number;
  deletedShards: number;
}

export async function sweepOrphans(deps: OrphanDeps, now = Date.now()): Promise<OrphanSweepOutcome> {
  const local = await localVersions(deps.store);
  const referenced = await referencedVersions(deps.db);
  const unreferenced = new Set([...local.keys()].filter((v) => !referenced.has(v)));
  const due = deps.tracker.observe(unreferenced, now);
  let deletedShards = 0;
  for (const version of due) {
    for (const key of local.get(version) ?? []) if (await deps.store.delete(key)) deletedShards++;
    deps.log(
      `orphans: deleted ${local.get(version)?.length ?? 0} shard(s) of unreferenced version ${version}`,
    );
  }
  deps.stats.orphans.sweeps++;
  deps.stats.orphans.candidates = unreferenced.size;
  deps.stats.orphans.shardsDeleted += deletedShards;
  return {
    localVersions: local.size,
    unreferenced: unreferenced.size,
    deletedVersions: due.length,
    deletedShards,
  };
}
