// Background deletion of superseded, deleted and failed versions' shards. Reads garbage records
// oldest first, deletes their shards on the appliances (a missing shard counts as deleted), removes
// the record once every shard is gone and otherwise keeps the rest with a growing retry delay.
// Bounded in rate (deletes per second) and in work per pass.
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';
import { decodeGarbageRecord, encodeGarbageRecord } from '../../../shared/metadata/records.ts';
import type { GarbageRecord, ShardRef } from '../../../shared/metadata/records.ts';

export interface GarbageWorkerOptions {
  /** Shard deletes per second at most. Default 500. */
  deletesPerSecond?: number;
  /** Records looked at per pass. Default 100. */
  batchSize?: number;
  /** Pause between passes when there was nothing due. Default 1000 ms. */
  idleMs?: number;
  /** First retry delay of a record with unreachable appliances; doubles up to 5 min. Default 1000 ms. */
  retryBaseMs?: number;
  deleteTimeoutMs?: number;
  onError?: (error: unknown) => void;
}

export interface GarbageWorkerDeps {
  db: S3dbClient;
  shards: ShardClient;
  peers: ReadonlyMap<string, ShardPeer>;
}

export interface GarbageWorker {
  /** One pass over the due records; resolves with the number of records finished. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

const MAX_RETRY_MS = 5 * 60_000;

/** Retry delay after `attempts` failed passes (pure). */
export function retryDelay(attempts: number, baseMs: number): number {
  return Math.min(MAX_RETRY_MS, baseMs * 2 ** Math.min(20, Math.max(0, attempts - 1)));
}

export function startGarbageWorker(
  deps: GarbageWorkerDeps,
  options: GarbageWorkerOptions = {},
): GarbageWorker {
  const rate = options.deletesPerSecond ?? 500;
  const batchSize = options.batchSize ?? 100;
  const idleMs = options.idleMs ?? 1000;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const timeoutMs = options.deleteTimeoutMs ?? 5000;
  let stopped = false;
  let wake: (() => void) | undefined;
  let windowStart = Date.now();
  let windowCount = 0;
  let running: Promise<number> | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function throttle(): Promise<void> {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      windowCount = 0;
    }
    if (windowCount >= rate) {
      await sleep(1000 - (now - windowStart));
      windowStart = Date.now();
      windowCount = 0;
    }
    windowCount++;
  }

  async function deleteShard(versionId: Buffer, ref: ShardRef): Promise<boolean> {
    const peer = deps.peers.get(ref.node);
    if (peer === undefined) return false;
    await throttle();
    try {
      await deps.shards.deleteShard(
        peer,
        { versionId, chunkIndex: ref.chunkIndex, shardIndex: ref.shardIndex },
        { timeoutMs },
      );
      return true;
    } catch (error) {
      return (error as { code?: string }).code === 'NOT_FOUND';
    }
  }

  async function collect(key: Uint8Array, record: GarbageRecord): Promise<boolean> {
    const versionId = Buffer.from(record.versionId, 'hex');
    const left: ShardRef[] = [];
    for (let i = 0; i < record.shards.length && !stopped; i += 16) {
      const group = record.shards.slice(i, i + 16);
      const done = await Promise.all(
        group.map((ref) =>
          deleteShard(ref.versionId === undefined ? versionId : Buffer.from(ref.versionId, 'hex'), ref),
        ),
      );
      group.forEach((ref, j) => {
        if (!done[j]) left.push(ref);
      });
    }
    if (stopped) return false;
    if (left.length === 0) {
      await deps.db.delete(TABLES.garbage, key);
      return true;
    }
    const attempts = record.attempts + 1;
    await deps.db.put(
      TABLES.garbage,
      key,
      encodeGarbageRecord({
        ...record,
        shards: left,
        attempts,
        notBefore: Date.now() + retryDelay(attempts, retryBaseMs),
      }),
    );
    return false;
  }

  async function pass(): Promise<number> {
    const page = await deps.db.scan(TABLES.garbage, { limit: batchSize });
    let finished = 0;
    const now = Date.now();
    for (const item of page.items) {
      if (stopped) break;
      let record: GarbageRecord;
      try {
        record = decodeGarbageRecord(item.value);
      } catch (error) {
        options.onError?.(error);
        continue;
      }
      if (record.notBefore > now) continue;
      if (await collect(item.key, record)) finished++;
    }
    return finished;
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => (running = undefined));
    return running;
  }

  const loop = (async () => {
    while (!stopped) {
      let finished = 0;
      try {
        finished = await runOnce();
      } catch (error) {
        options.onError?.(error);
      }
      if (!stopped && finished === 0) await sleep(idleMs);
    }
  })();

  return {
    runOnce,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await running?.catch(() => undefined);
    },
  };
}
