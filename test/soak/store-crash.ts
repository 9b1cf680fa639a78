/**
 * Long crash soak for the shard store: many rounds of kill -9 during writes, deletes and compaction, and large
 * uncompressed writes, each followed by a full verification (every fourth round also rebuilds the index).
 *   node --import tsx test/soak/store-crash.ts [rounds=50]
 */
import { newLedger, runAndKill, verifyStore } from '../integration/store/crash-harness.ts';
import { tempDir } from '../unit/store/helpers.ts';

const rounds = Number(process.argv[2] ?? 50);
const dir = await tempDir('predastore-soak-');
try {
  const ledger = newLedger();
  let acks = 0;
  for (let round = 0; round < rounds; round++) {
    const mode = (['write', 'compact', 'large'] as const)[round % 3]!;
    const killAfter = 1 + Math.floor(Math.random() * 40);
    const delay = Math.floor(Math.random() * 300);
    acks += await runAndKill(dir.path, mode, killAfter, delay, ledger);
    await verifyStore(dir.path, ledger, round % 4 === 3);
    console.log(
      `round ${round + 1}/${rounds} ${mode} killed after ack ${killAfter}+${delay}ms: ok ` +
        `(${ledger.mustExist.size} live, ${ledger.mustNotExist.size} deleted, ${acks} acks, ${ledger.compactions} compactions so far)`,
    );
  }
  console.log(`soak passed: ${rounds} rounds, ${acks} acknowledged writes verified`);
} finally {
  await dir.cleanup();
}
