// shared/checksum picks the fastest CRC32C that loads (see test/bench/checksum.bench.ts); every
// candidate must give the same answers, including when continuing from a seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';
import { crc32c, crc32cImplementation } from '../../../shared/checksum/index.ts';

test('the selected CRC32C agrees with @node-rs/crc32 on random data and seeds', () => {
  assert.ok(['sse4_crc32', '@node-rs/crc32'].includes(crc32cImplementation));
  for (const length of [0, 1, 7, 8, 9, 63, 64, 65, 4095, 65536, 65537]) {
    const data = randomBytes(length);
    const seed = randomBytes(4).readUInt32LE(0);
    assert.equal(crc32c(data), nodeRsCrc32c(data) >>> 0, `length ${length}`);
    assert.equal(crc32c(data, seed), nodeRsCrc32c(data, seed) >>> 0, `length ${length} with seed`);
    const cut = length >> 1;
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data), `split at ${cut}`);
  }
  assert.equal(crc32c(new Uint8Array(Buffer.from('123456789'))), 0xe3069283, 'plain Uint8Array input');
});
