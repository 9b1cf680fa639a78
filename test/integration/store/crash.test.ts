import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLedger, runAndKill, verifyStore } from './crash-harness.ts';
import { tempDir } from '../../unit/store/helpers.ts';

const ROUNDS = Number(process.env.STORE_CRASH_ROUNDS ?? 4);

const TITLES = {
  write: 'concurrent writes',
  compact: 'writes, deletes and compaction',
  large: 'large uncompressed writes (early write-back, CRCs during the writes)',
} as const;

for (const mode of ['write', 'compact', 'large'] as const) {
  test(`kill -9 during ${TITLES[mode]} loses no acknowledged shard`, async (t) => {
    const dir = await tempDir();
    try {
      const ledger = newLedger();
      let acks = 0;
      // In compact mode, if no compaction finished in the first rounds, one more round waits for one before
      // its kill (bounded by the harness's 60 s guard), so the check below does not depend on timing luck.
      // Large mode runs fewer rounds (each writes tens of MiB); its kills land mid-commit most of the time.
      const rounds = mode === 'large' ? Math.max(1, ROUNDS - 1) : ROUNDS;
      const maxRounds = mode === 'compact' ? ROUNDS + 1 : rounds;
      for (let round = 0; round < maxRounds; round++) {
        if (round >= ROUNDS && ledger.compactions > 0) break;
        acks += await runAndKill(
          dir.path,
          mode,
          3 + Math.floor(Math.random() * 15),
          Math.floor(Math.random() * 150),
          ledger,
          round >= ROUNDS,
        );
        await verifyStore(dir.path, ledger, round % 3 === 2);
      }
      t.diagnostic(`${acks} acknowledged writes, ${ledger.compactions} compactions, all verified`);
      assert.ok(acks > 0, 'the child acknowledged something');
      if (mode === 'compact') assert.ok(ledger.compactions > 0, 'compactions ran between the kills');
    } finally {
      await dir.cleanup();
    }
  });
}
