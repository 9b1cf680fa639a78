/** Runs crash-child.ts, SIGKILLs it at a random moment, then checks the store it leaves behind. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { shardData } from './shard-data.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

export interface Ledger {
  /** Acknowledged puts whose key was never handed to delete. */
  mustExist: Map<string, ShardKey>;
  /** Acknowledged deletes. */
  mustNotExist: Map<string, ShardKey>;
  /** Deletes issued but maybe not finished: either outcome is fine. */
  either: Map<string, ShardKey>;
  compactions: number;
}

export function newLedger(): Ledger {
  return { mustExist: new Map(), mustNotExist: new Map(), either: new Map(), compactions: 0 };
}

function keyFrom(hex: string, shard: string, chunk: string): ShardKey {
  return { versionId: Buffer.from(hex, 'hex'), chunkIndex: Number(chunk), shardIndex: Number(shard) };
}

/**
 * One round: start the child, wait for its `killAfterAcks`-th acknowledgement (so it is busy whatever the
 * machine's load) and, with `awaitCompaction`, for a compaction it finished too; wait `delayMs` more, kill -9
 * it. Returns the acknowledgements seen.
 */
export async function runAndKill(
  path: string,
  mode: 'write' | 'compact' | 'large',
  killAfterAcks: number,
  delayMs: number,
  ledger: Ledger,
  awaitCompaction = false,
): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, mode, '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let acks = 0;
  let compactions = 0;
  let timer: NodeJS.Timeout | undefined;
  const killWhenDue = (): void => {
    if (timer === undefined && acks >= killAfterAcks && (!awaitCompaction || compactions > 0))
      timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  };
  const lines = createInterface({ input: child.stdout });
  const linesClosed = new Promise<void>((resolve) => lines.once('close', resolve));
  lines.on('line', (line) => {
    const [what, hex, shard, chunk = '0'] = line.split(' ');
    if (what === 'READY') return;
    if (what === 'COMPACTED') {
      ledger.compactions++;
      compactions++;
      killWhenDue();
      return;
    }
    if (hex === undefined || shard === undefined) return;
    const key = keyFrom(hex, shard, chunk);
    const id = `${hex}/${shard}/${chunk}`;
    if (what === 'ACK') {
      acks++;
      ledger.mustExist.set(id, key);
      killWhenDue();
    } else if (what === 'DELREQ') {
      ledger.mustExist.delete(id);
      ledger.either.set(id, key);
    } else if (what === 'DELACK') {
      ledger.either.delete(id);
      ledger.mustNotExist.set(id, key);
    }
  });
  // Bounded: a child that never becomes ready is killed too.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await exited;
  clearTimeout(guard);
  if (timer) clearTimeout(timer);
  await linesClosed;
  assert.equal(code, null, `child exited by itself (${String(code)}): ${stderr}`);
  return acks;
}

/** Reopens the store and checks every promise the child made; optionally drops the index first. */
export async function verifyStore(path: string, ledger: Ledger, dropIndex: boolean): Promise<void> {
  if (dropIndex) await rm(join(path, 'index'), { recursive: true, force: true });
  const store = await ShardStore.open({ path, volumeSizeBytes: 512 * 1024, compression: 'lz4' });
  try {
    if (dropIndex) assert.ok(store.openReport.rebuilt, 'index rebuilt');
    for (const [id, key] of ledger.mustExist) {
      const data = await store.readShard(key).catch((e: unknown) => {
        throw new Error(`acknowledged shard ${id} unreadable: ${String(e)}`);
      });
      assert.ok(data.equals(shardData(key)), `acknowledged shard ${id} differs`);
    }
    for (const [id, key] of ledger.mustNotExist) {
      assert.equal(await store.has(key), false, `deleted shard ${id} is back`);
    }
    // Every shard present (acknowledged or not) is whole and correct: no torn record is visible.
    let after: ShardKey | undefined;
    for (let page = 0; page < 10_000; page++) {
      const res = await store.list({ limit: 500, ...(after ? { after } : {}) });
      for (const key of res.keys) assert.ok((await store.readShard(key)).equals(shardData(key)));
      if (!res.next) break;
      after = res.next;
    }
    const scrub = await store.scrub();
    assert.equal(scrub.corruptShards.length, 0, JSON.stringify(scrub.corruptShards));
    assert.equal(scrub.damagedRegions.length, 0, JSON.stringify(scrub.damagedRegions));
    // Deletes that may or may not have happened are settled now: record the outcome for later rounds.
    for (const [id, key] of ledger.either) {
      if (await store.has(key)) ledger.mustExist.set(id, key);
      else ledger.mustNotExist.set(id, key);
    }
    ledger.either.clear();
  } finally {
    await store.close();
  }
}
