import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLedger, runAndKill, verifyStore } from './crash-harness.ts';
import { tempDir } from '../../unit/store/helpers.ts';

const ROUNDS = Number(process.env.STORE_CRASH_ROUNDS ?? 4);

for (const mode of ['write', 'compact'] as const) {
  test(`kill -9 during ${mode === 'write' ? 'concurrent writes' : 'writes, deletes and compaction'} loses no acknowledged shard`, async () => {
    const dir = await tempDir();
    try {
      const ledger = newLedger();
      let acks = 0;
      for (let round = 0; round < ROUNDS; round++) {
        acks += await runAndKill(
          dir.path,
          mode,
          1 + Math.floor(Math.random() * 12),
          Math.floor(Math.random() * 150),
          ledger,
        );
        await verifyStore(dir.path, ledger, round % 3 === 2);
      }
      assert.ok(acks > 0, 'the child acknowledged something');
      if (mode === 'compact') assert.ok(ledger.compactions > 0, 'compactions ran between the kills');
    } finally {
      await dir.cleanup();
    }
  });
}
