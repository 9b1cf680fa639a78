// The healer: drains pd.repair continuously. Tasks of one chunk (same version id + chunk index, the
// first 20 bytes of their keys) are handled together by one appliance: it takes the chunk's first
// task by compare-and-set (owner + notBefore = a lease), checks the object version is still live,
// rebuilds what the chunk lacks, and deletes the tasks — or keeps one with a growing backoff (and the
// appliances it waits for, so it is due again as soon as they answer).
import type { MaintenanceConfig } from '../../shared/config/index.ts';
import { TABLES, objectKey } from '../../shared/metadata/keys.ts';
import { decodeObjectRecord, decodeRepairRecord, encodeRepairRecord } from '../../shared/metadata/records.ts';
import type { RepairRecord } from '../../shared/metadata/records.ts';
import type { BatchOp, Precondition, S3dbClient } from '../../shared/s3db-client/index.ts';
import { repairChunk } from './chunk-repair.ts';
import type { ChunkRepairResult, RepairContext } from './chunk-repair.ts';
import { Semaphore, backoffMs, realClock } from './rate-limit.ts';

export interface HealerDeps {
  db: Pick<S3dbClient, 'get' | 'batch' | 'scan'>;
  repair: RepairContext;
  /** This appliance's id, recorded as the task owner. */
  owner: string;
  settings: Pick<
    MaintenanceConfig,
    'repairPollMs' | 'repairConcurrency' | 'repairRetryBaseMs' | 'repairRetryMaxMs' | 'jobLeaseMs'
  >;
  /** Whether appliance `node` answers now (cached by the caller). */
  reachable(node: string): Promise<boolean>;
  log(line: string): void;
}

interface Item {
  key: Uint8Array;
  value: Uint8Array;
  record: RepairRecord;
}

const PAGE = 256;
/** Key bytes shared by every task of one chunk: version id (16) + chunk index (4). */
const CHUNK_PREFIX = 20;

export function chunkGroupOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, Math.min(CHUNK_PREFIX, key.byteLength)).toString('hex');
}

/** Whether the group led by `record` may be taken now (pure apart from `reachable`). */
export async function isDue(
  record: RepairRecord,
  now: number,
  reachable: (node: string) => Promise<boolean>,
): Promise<boolean> {
  const notBefore = record.notBefore ?? 0;
  if (notBefore <= now) return true;
  if (record.owner !== undefined) return false; // leased
  const waitFor = record.waitFor ?? [];
  if (waitFor.length === 0) return false;
  const answers = await Promise.all(waitFor.map((n) => reachable(n)));
  return answers.every(Boolean);
}

export class Healer {
  private readonly stopping = new AbortController();
  private cursor: Uint8Array | undefined;
  private seenThisRound = 0;
  private loop: Promise<void> | undefined;
  private readonly limit: Semaphore;

  constructor(private readonly deps: HealerDeps) {
    this.limit = new Semaphore(deps.settings.repairConcurrency);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('healer stopped'));
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let wrapped = true;
      try {
        wrapped = (await this.passOnce()).wrapped;
      } catch (error) {
        if (!signal.aborted) this.deps.log(`healer: pass failed: ${String(error)}`);
      }
      if (wrapped && !signal.aborted)
        await realClock.sleep(this.deps.settings.repairPollMs, signal).catch(() => undefined);
    }
  }

  /** One page of tasks from the cursor; `wrapped` once the end of the table was reached. */
  async passOnce(): Promise<{ handled: number; wrapped: boolean }> {
    const page = await this.deps.db.scan(TABLES.repair, {
      limit: PAGE,
      ...(this.cursor ? { startAfter: this.cursor } : {}),
    });
    const groups = new Map<string, Item[]>();
    for (const item of page.items) {
      let record: RepairRecord;
      try {
        record = decodeRepairRecord(item.value);
      } catch (error) {
        this.deps.log(`healer: skipping an unreadable repair task: ${String(error)}`);
        continue;
      }
      const group = chunkGroupOf(item.key);
      const list = groups.get(group) ?? [];
      list.push({ key: item.key, value: item.value, record });
      groups.set(group, list);
    }
    const lists = [...groups.values()];
    // A chunk's tasks may straddle the page end: leave the last group to the next page.
    if (page.truncated && lists.length > 1) lists.pop();
    const lastKey = lists.at(-1)?.at(-1)?.key ?? page.nextStartAfter;
    this.seenThisRound += lists.reduce((n, l) => n + l.length, 0);
    const handled = await Promise.all(
      lists.map((items) =>
        this.limit.run(() => this.handleGroup(items).catch((e: unknown) => this.failed(e))),
      ),
    );
    const wrapped = !page.truncated || lastKey === undefined;
    if (wrapped) {
      this.deps.repair.stats.repair.queueLength = this.seenThisRound;
      this.seenThisRound = 0;
      this.cursor = undefined;
    } else this.cursor = lastKey;
    return { handled: handled.filter(Boolean).length, wrapped };
  }

  private failed(error: unknown): boolean {
    if (!this.stopping.signal.aborted) this.deps.log(`healer: ${String(error)}`);
    return false;
  }

  /** True when the group was taken and worked on. */
  private async handleGroup(items: Item[]): Promise<boolean> {
    const first = items[0] as Item;
    const now = Date.now();
    if (!(await isDue(first.record, now, (n) => this.deps.reachable(n)))) return false;
    const claimed: RepairRecord = {
      ...first.record,
      owner: this.deps.owner,
      notBefore: now + this.deps.settings.jobLeaseMs,
    };
    const claimedBytes = encodeRepairRecord(claimed);
    const took = await this.deps.db.batch(
      [{ kind: 'valueEquals', table: TABLES.repair, key: first.key, value: first.value }],
      [{ kind: 'put', table: TABLES.repair, key: first.key, value: claimedBytes }],
    );
    if (!took.ok) return false;
    const held: Item[] = [{ ...first, value: claimedBytes, record: claimed }, ...items.slice(1)];
    const suspects = [...new Set(items.flatMap((i) => i.record.shards))].sort((a, b) => a - b);
    const stats = this.deps.repair.stats.repair;
    let outcome: ChunkRepairResult | undefined;
    let error: unknown;
    try {
      const found = await this.deps.db.get(TABLES.objects, objectKey(claimed.bucket, claimed.key));
      const record = found === undefined ? undefined : decodeObjectRecord(found.value);
      if (
        record === undefined ||
        record.versionId !== claimed.versionId ||
        record.chunks[claimed.chunkIndex] === undefined
      ) {
        stats.tasksDropped++;
        await this.finish(held);
        return true;
      }
      outcome = await repairChunk(
        this.deps.repair,
        { bucket: claimed.bucket, key: claimed.key, record, chunkIndex: claimed.chunkIndex },
        suspects,
        this.stopping.signal,
      );
    } catch (e) {
      error = e;
    }
    if (outcome !== undefined && outcome.status !== 'blocked') {
      if (outcome.status === 'gone') stats.tasksDropped++;
      else stats.tasksDone++;
      if (outcome.rebuilt.length > 0)
        this.deps.log(
          `healer: ${claimed.bucket}/${claimed.key} chunk ${claimed.chunkIndex}: rebuilt shard(s) ${outcome.rebuilt.join(',')}${outcome.replaced.length > 0 ? ` (moved ${outcome.replaced.map((r) => `${r.shardIndex}:${r.from}→${r.to}`).join(' ')})` : ''}`,
        );
      await this.finish(held);
      return true;
    }
    stats.attemptsFailed++;
    const attempts = (claimed.attempts ?? 0) + 1;
    const retry: RepairRecord = {
      ...claimed,
      shards: outcome && outcome.blocked.length > 0 ? outcome.blocked : suspects,
      attempts,
      notBefore:
        Date.now() +
        backoffMs(attempts, this.deps.settings.repairRetryBaseMs, this.deps.settings.repairRetryMaxMs),
      error: String(outcome?.detail ?? (error instanceof Error ? error.message : error)).slice(0, 500),
    };
    delete retry.owner;
    if (outcome && outcome.unreachable.length > 0) retry.waitFor = [...new Set(outcome.unreachable)];
    else delete retry.waitFor;
    await this.finish(held, retry);
    return true;
  }

  /** Deletes the group's tasks (keeping `retry` in place of the first); each only if unchanged. */
  private async finish(held: Item[], retry?: RepairRecord): Promise<void> {
    const pre: Precondition[] = held.map((i) => ({
      kind: 'valueEquals',
      table: TABLES.repair,
      key: i.key,
      value: i.value,
    }));
    const ops: BatchOp[] = held.map((i, n) =>
      n === 0 && retry
        ? { kind: 'put', table: TABLES.repair, key: i.key, value: encodeRepairRecord(retry) }
        : { kind: 'delete', table: TABLES.repair, key: i.key },
    );
    const r = await this.deps.db.batch(pre, ops);
    if (r.ok) return;
    // One of them changed meanwhile (e.g. a newer finding): settle each on its own.
    for (let n = 0; n < held.length; n++) {
      await this.deps.db
        .batch([pre[n] as Precondition], [ops[n] as BatchOp])
        .catch((e: unknown) => this.deps.log(`healer: could not settle a task: ${String(e)}`));
    }
  }
}
