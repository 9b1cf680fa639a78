/**
 * Child process for the crash tests: writes (and in "compact" mode deletes and compacts) shards in a loop and
 * prints one line per acknowledged operation. The parent kills it with SIGKILL at a random moment.
 *   ACK <hex version id> <shard> <chunk>      put acknowledged (durable)
 *   DELREQ <hex version id> <shard> <chunk>   delete about to be issued
 *   DELACK <hex version id> <shard> <chunk>   delete acknowledged
 *   COMPACTED <volume> <moved records>        a compaction finished
 * Modes: write (small LZ4 shards), compact (also deletes and compactions), large (uncompressed shards up to
 * 2 MiB in commits of several MiB: early write-back with small pieces, CRCs computed during the writes).
 * Usage: crash-child.ts <store path> <mode: write|compact|large> <seed>
 */
import { randomBytes } from 'node:crypto';
import { ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { segmentsOf, shardData } from './shard-data.ts';

const [path, mode] = process.argv.slice(2);
if (path === undefined || (mode !== 'write' && mode !== 'compact' && mode !== 'large')) {
  process.stderr.write('usage: crash-child.ts <path> <write|compact|large> <seed>\n');
  process.exit(2);
}

function id(key: ShardKey): string {
  return `${Buffer.from(key.versionId).toString('hex')} ${key.shardIndex} ${key.chunkIndex}`;
}

const large = mode === 'large';
const store = await ShardStore.open(
  large
    ? {
        path,
        volumeSizeBytes: 8 * 1024 * 1024,
        compression: 'none',
        writeBackPieceBytes: 64 * 1024,
        writeBackMinCommitBytes: 0,
      }
    : { path, volumeSizeBytes: 256 * 1024, compression: 'lz4', compactionGarbageRatio: 0.25 },
);
process.stdout.write('READY\n');

const acked: ShardKey[] = [];
let stop = false;
process.on('SIGTERM', () => (stop = true));

/** `copy`: false writes from the caller's buffers, as the shard server does. */
async function writer(copy: boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !stop; i++) {
    const key: ShardKey = { versionId: randomBytes(16), chunkIndex: large ? 1 : 0, shardIndex: i % 6 };
    await store.put(key, { rsData: 4, rsParity: 2 }, segmentsOf(shardData(key)), { copy });
    process.stdout.write(`ACK ${id(key)}\n`);
    acked.push(key);
    if (mode === 'compact' && acked.length > 2 && i % 2 === 0) {
      const victim = acked.splice(Math.floor(Math.random() * acked.length), 1)[0]!;
      process.stdout.write(`DELREQ ${id(victim)}\n`);
      await store.delete(victim);
      process.stdout.write(`DELACK ${id(victim)}\n`);
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
