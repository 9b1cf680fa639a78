// The garbage worker, run by the appliances: deletes the shards of superseded, deleted and failed
// versions named by pd.garbage records. Each record is taken by compare-and-set (notBefore pushed one
// lease ahead), so two appliances never work on the same record; when every shard is gone the record
// is deleted (only if unchanged), otherwise kept with the shards left and a growing retry delay.
import { TABLES } from '../../shared/metadata/keys.ts';
import { decodeGarbageRecord, encodeGarbageRecord } from '../../shared/metadata/records.ts';
import type { GarbageRecord, ShardRef } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { ShardClient, ShardPeer } from '../../shared/shard-client/index.ts';
import type { Membership } from './membership.ts';
import { Semaphore, backoffMs, realClock } from './rate-limit.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { MaintenanceStats } from './stats.ts';

export interface GarbageDeps {
  db: Pick<S3dbClient, 'scan' | 'batch'>;
  shards: Pick<ShardClient, 'deleteShard'>;
  peers: ReadonlyMap<string, ShardPeer>;
  membership(): Promise<Membership>;
  /** One unit per shard delete. */
  limiter: RateLimiter;
  leaseMs: number;
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  deleteTimeoutMs: number;
  stats: MaintenanceStats;
  log(line: string): void;
}

const PAGE = 100;

export class GarbageCollector {
  private readonly stopping = new AbortController();
  /** Where the continuous loop is in the table; a `gc` job's drain keeps its own place. */
  private readonly loopPlace: { cursor?: Uint8Array } = {};
  private loop: Promise<void> | undefined;
  private readonly records = new Semaphore(4);

  constructor(private readonly deps: GarbageDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('garbage worker stopped'));
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let idle = true;
      try {
        const pass = await this.passOnce(signal);
        idle = pass.wrapped && pass.finished === 0;
      } catch (error) {
        if (!signal.aborted) this.deps.log(`garbage: pass failed: ${String(error)}`);
      }
      if (idle && !signal.aborted) await realClock.sleep(this.deps.pollMs, signal).catch(() => undefined);
    }
  }

  /**
   * One page of records from the cursor. `finished`: records deleted; `due`: records that were due
   * (taken or not); `wrapped` once the end of the table was reached.
   */
  async passOnce(
    signal?: AbortSignal,
    place: { cursor?: Uint8Array } = this.loopPlace,
  ): Promise<{ finished: number; due: number; wrapped: boolean }> {
    const page = await this.deps.db.scan(TABLES.garbage, {
      limit: PAGE,
      ...(place.cursor ? { startAfter: place.cursor } : {}),
    });
    const now = Date.now();
    let due = 0;
    const results = await Promise.all(
      page.items.map((item) => {
        let record: GarbageRecord;
        try {
          record = decodeGarbageRecord(item.value);
        } catch (error) {
          this.deps.log(`garbage: skipping an unreadable record: ${String(error)}`);
          return false;
        }
        if (record.notBefore > now) return false;
        due++;
        return this.records.run(() =>
          this.collect(item.key, item.value, record, signal).catch((error: unknown) => {
            this.deps.stats.gc.attemptsFailed++;
            if (!signal?.aborted) this.deps.log(`garbage: ${String(error)}`);
            return false;
          }),
        );
      }),
    );
    const wrapped = !page.truncated || page.nextStartAfter === undefined;
    if (wrapped) delete place.cursor;
    else place.cursor = page.nextStartAfter;
    return { finished: results.filter(Boolean).length, due, wrapped };
  }

  /** Passes until a whole round over the table found nothing due (bounded), for the `gc` job. */
  async drain(signal: AbortSignal, onPass?: (finished: number) => void): Promise<number> {
    let finished = 0;
    let dueThisRound = 0;
    const place: { cursor?: Uint8Array } = {};
    for (let pass = 0; pass < 100_000 && !signal.aborted; pass++) {
      const r = await this.passOnce(signal, place);
      finished += r.finished;
      dueThisRound += r.due;
      onPass?.(finished);
      if (r.wrapped) {
        if (dueThisRound === 0) break;
        dueThisRound = 0;
      }
    }
    return finished;
  }

  private async collect(
    key: Uint8Array,
    stored: Uint8Array,
    record: GarbageRecord,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const leased: GarbageRecord = { ...record, notBefore: Date.now() + this.deps.leaseMs };
    const leasedBytes = encodeGarbageRecord(leased);
    const took = await this.deps.db.batch(
      [{ kind: 'valueEquals', table: TABLES.garbage, key, value: stored }],
      [{ kind: 'put', table: TABLES.garbage, key, value: leasedBytes }],
    );
    if (!took.ok) return false;
    const membership = await this.deps.membership();
    const versionId = Buffer.from(record.versionId, 'hex');
    const left: ShardRef[] = [];
    for (let i = 0; i < record.shards.length; i += 16) {
      if (signal?.aborted) {
        left.push(...record.shards.slice(i));
        break;
      }
      const group = record.shards.slice(i, i + 16);
      const done = await Promise.all(group.map((ref) => this.deleteShard(versionId, ref, membership)));
      group.forEach((ref, j) => {
        if (!done[j]) left.push(ref);
      });
    }
    const precondition = [{ kind: 'valueEquals' as const, table: TABLES.garbage, key, value: leasedBytes }];
    if (left.length === 0) {
      const r = await this.deps.db.batch(precondition, [{ kind: 'delete', table: TABLES.garbage, key }]);
      if (r.ok) this.deps.stats.gc.recordsDone++;
      return r.ok;
    }
    const attempts = signal?.aborted ? record.attempts : record.attempts + 1;
    if (!signal?.aborted) this.deps.stats.gc.attemptsFailed++;
    await this.deps.db.batch(precondition, [
      {
        kind: 'put',
        table: TABLES.garbage,
        key,
        value: encodeGarbageRecord({
          ...record,
          shards: left,
          attempts,
          notBefore: signal?.aborted
            ? 0
            : Date.now() + backoffMs(attempts, this.deps.retryBaseMs, this.deps.retryMaxMs),
        }),
      },
    ]);
    return false;
  }

  /** True when the shard is gone (deleted now, already missing, or its appliance is gone for good). */
  private async deleteShard(versionId: Buffer, ref: ShardRef, membership: Membership): Promise<boolean> {
    if (membership.isGone(ref.node)) return true;
    const peer = this.deps.peers.get(ref.node);
    if (peer === undefined) return true;
    await this.deps.limiter.take(1);
    try {
      await this.deps.shards.deleteShard(
        peer,
        {
          versionId: ref.versionId === undefined ? versionId : Buffer.from(ref.versionId, 'hex'),
          chunkIndex: ref.chunkIndex,
          shardIndex: ref.shardIndex,
        },
        { timeoutMs: this.deps.deleteTimeoutMs },
      );
      this.deps.stats.gc.shardsDeleted++;
      return true;
    } catch (error) {
      return (error as { code?: string }).code === 'NOT_FOUND';
    }
  }
}
