// The ring record's home in s3db (table `pd.cluster`, key `ring`): read it, create it from the config
// on first use, change it by compare-and-set. Gateways hold a RingSource that re-reads it every few
// seconds, so new writes follow an epoch change without a restart.
import type { ClusterConfig } from '../config/index.ts';
import type { RsScheme } from '../erasure/index.ts';
import type { HashRing } from '../ring/index.ts';
import type { S3dbClient } from '../s3db-client/index.ts';
import {
  RingChangeError,
  decodeRingRecord,
  encodeRingRecord,
  initialRing,
  placementRing,
  planRingChange,
  writeScheme,
} from './ring-record.ts';
import type { RingChange, RingRecord } from './ring-record.ts';

export const CLUSTER_TABLE = 'pd.cluster';
export const RING_KEY = 'ring';

/** The part of the s3db client the ring store uses (a fake stands in for unit tests). */
export type RingDb = Pick<S3dbClient, 'get' | 'batch'>;

export interface StoredRing {
  record: RingRecord;
  /** s3db version of the stored value (for compare-and-set). */
  version: number;
}

const MAX_CAS_ROUNDS = 16;

/** Appliance ids as the ring and the object records name them. */
export function configNodeIds(config: Pick<ClusterConfig, 'nodes'>): string[] {
  return config.nodes.map((n) => String(n.id));
}

export function configScheme(config: Pick<ClusterConfig, 'rs'>): RsScheme {
  return { k: config.rs.data, m: config.rs.parity };
}

export async function loadRing(db: RingDb): Promise<StoredRing | undefined> {
  const got = await db.get(CLUSTER_TABLE, RING_KEY);
  return got === undefined ? undefined : { record: decodeRingRecord(got.value), version: got.version };
}

/** The stored ring, created from the config's `[[nodes]]` (epoch 0) when there is none yet. */
export async function ensureRing(
  db: RingDb,
  config: Pick<ClusterConfig, 'nodes' | 'ring'>,
): Promise<StoredRing> {
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const found = await loadRing(db);
    if (found !== undefined) return found;
    const record = initialRing(configNodeIds(config), config.ring.vnodes);
    const r = await db.batch(
      [{ kind: 'absent', table: CLUSTER_TABLE, key: RING_KEY }],
      [{ kind: 'put', table: CLUSTER_TABLE, key: RING_KEY, value: encodeRingRecord(record) }],
    );
    if (r.ok) return { record, version: r.version };
  }
  throw new RingChangeError('CONFLICT', 'the ring record kept changing while it was being created');
}

/**
 * Applies `change` to the stored ring by compare-and-set (re-read and re-planned on conflict).
 * Returns the stored result; throws RingChangeError when the change is not allowed.
 */
export async function applyRingChange(
  db: RingDb,
  config: Pick<ClusterConfig, 'nodes' | 'ring' | 'rs'>,
  change: RingChange,
  now = Date.now(),
): Promise<StoredRing> {
  let current = await ensureRing(db, config);
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const record = planRingChange(current.record, change, configScheme(config), now);
    const r = await db.batch(
      [{ kind: 'versionEquals', table: CLUSTER_TABLE, key: RING_KEY, version: current.version }],
      [{ kind: 'put', table: CLUSTER_TABLE, key: RING_KEY, value: encodeRingRecord(record) }],
    );
    if (r.ok) return { record, version: r.version };
    current = await ensureRing(db, config);
  }
  throw new RingChangeError('CONFLICT', 'the ring record kept changing; the change was not applied');
}

/** What a writer needs from the ring record. */
export interface ClusterRing {
  record: RingRecord;
  ring: HashRing;
  /** Scheme for new objects. */
  rs: RsScheme;
}

export function clusterRingOf(record: RingRecord, fallbackRs: RsScheme): ClusterRing {
  return { record, ring: placementRing(record), rs: writeScheme(record, fallbackRs) };
}

export interface RingSourceOptions {
  /** A cached ring older than this is re-read before it is used. Default 5000 ms. */
  refreshMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * The current ring for writers, loaded lazily and re-read by the first caller after `refreshMs` (one
 * s3db read per interval, no timer: fits Lambda too). A failed refresh keeps the last ring (an s3db
 * outage fails the commit anyway). The record is created from the config when s3db has none.
 */
export class RingSource {
  private cached: { ring: ClusterRing; version: number; at: number } | undefined;
  private loading: Promise<ClusterRing> | undefined;
  private readonly refreshMs: number;

  constructor(
    private readonly db: RingDb,
    private readonly config: Pick<ClusterConfig, 'nodes' | 'ring' | 'rs'>,
    private readonly options: RingSourceOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 5000;
  }

  async current(now = Date.now()): Promise<ClusterRing> {
    const cached = this.cached;
    if (cached === undefined) return this.load();
    if (now - cached.at < this.refreshMs) return cached.ring;
    try {
      return await this.load();
    } catch (error) {
      this.options.onError?.(error);
      return cached.ring;
    }
  }

  /** Re-read now (admin changes call this so their own process sees the change at once). */
  refresh(): Promise<ClusterRing> {
    return this.load();
  }

  private load(): Promise<ClusterRing> {
    this.loading ??= (async () => {
      try {
        const stored = await ensureRing(this.db, this.config);
        // Same stored version: keep the ring object (callers may cache what they derive from it).
        const previous = this.cached;
        const ring =
          previous !== undefined && previous.version === stored.version
            ? previous.ring
            : clusterRingOf(stored.record, configScheme(this.config));
        this.cached = { ring, version: stored.version, at: Date.now() };
        return ring;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
