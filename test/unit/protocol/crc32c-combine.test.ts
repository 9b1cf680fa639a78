import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { crc32c } from '../../../shared/checksum/index.ts';
import { crc32cCombine } from '../../../shared/protocol/crc32c-combine.ts';

test('crc32cCombine(crc(a), crc(b), |b|) equals crc(a ++ b) for random buffers', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      const joined = Buffer.concat([a, b]);
      assert.equal(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(joined));
    }),
    { numRuns: 500 },
  );
});

test('combining segment CRCs one by one gives the CRC of the whole shard (64 KiB segments, short tail)', () => {
  const segments = [65536, 65536, 65536, 12345, 1].map((n) => randomBytes(n));
  let running = 0;
  let length = 0;
  for (const segment of segments) {
    running = length === 0 ? crc32c(segment) : crc32cCombine(running, crc32c(segment), segment.length);
    length += segment.length;
  }
  assert.equal(running, crc32c(Buffer.concat(segments)));
});

test('an empty second part leaves the CRC unchanged; a changed byte changes the combined CRC', () => {
  const a = randomBytes(100);
  assert.equal(crc32cCombine(crc32c(a), crc32c(Buffer.alloc(0)), 0), crc32c(a));
  const b = randomBytes(200);
  const tampered = Buffer.from(b);
  tampered[77] = (tampered[77] ?? 0) ^ 1;
  assert.notEqual(crc32cCombine(crc32c(a), crc32c(tampered), 200), crc32c(Buffer.concat([a, b])));
});
