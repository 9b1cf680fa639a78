/**
 * Child process for the crash tests: writes (and in "compact" mode deletes and compacts) shards in a loop and
 * prints one line per acknowledged operation. The parent kills it with SIGKILL at a random moment.
 *   ACK <hex key>        put acknowledged (durable)
 *   DELREQ <hex key>     delete about to be issued
 *   DELACK <hex key>     delete acknowledged
 *   COMPACTED <volume> <moved records>   a compaction finished
 * Usage: crash-child.ts <store path> <mode: write|compact> <seed>
 */
import { randomBytes } from 'node:crypto';
import { ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { segmentsOf, shardData } from './shard-data.ts';

const MAX_SHARD_BYTES = 200_000;
const [path, mode] = process.argv.slice(2);
if (path === undefined || (mode !== 'write' && mode !== 'compact')) {
  process.stderr.write('usage: crash-child.ts <path> <write|compact> <seed>\n');
  process.exit(2);
}

function hex(key: ShardKey): string {
  return Buffer.from(key.versionId).toString('hex');
}

const store = await ShardStore.open({
  path,
  volumeSizeBytes: 256 * 1024,
  compression: 'lz4',
  compactionGarbageRatio: 0.25,
});
process.stdout.write('READY\n');

const acked: ShardKey[] = [];
let stop = false;
process.on('SIGTERM', () => (stop = true));

/** `copy`: false writes from the caller's buffers, as the shard server does. */
async function writer(copy: boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !stop; i++) {
    const key: ShardKey = { versionId: randomBytes(16), chunkIndex: 0, shardIndex: i % 6 };
    await store.put(key, { rsData: 4, rsParity: 2 }, segmentsOf(shardData(key, MAX_SHARD_BYTES)), { copy });
    process.stdout.write(`ACK ${hex(key)} ${key.shardIndex}\n`);
    acked.push(key);
    if (mode === 'compact' && acked.length > 2 && i % 2 === 0) {
      const victim = acked.splice(Math.floor(Math.random() * acked.length), 1)[0]!;
      process.stdout.write(`DELREQ ${hex(victim)} ${victim.shardIndex}\n`);
      await store.delete(victim);
      process.stdout.write(`DELACK ${hex(victim)} ${victim.shardIndex}\n`);
    }
  }
}

async function compactor(): Promise<void> {
  for (let i = 0; i < 100_000 && !stop; i++) {
    for (const r of await store.compact()) process.stdout.write(`COMPACTED ${r.volume} ${r.movedRecords}\n`);
    await new Promise((r) => setImmediate(r));
  }
}

await Promise.all([writer(true), writer(false), writer(true), ...(mode === 'compact' ? [compactor()] : [])]);
await store.close();
