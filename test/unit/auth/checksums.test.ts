// Checksum algorithms: standard check values, incremental updates, and CRC64NVME against a BigInt reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  checksumOf,
  createChecksummer,
  isValidChecksumValue,
} from '../../../gateway/auth/checksums.ts';

const CHECK = Buffer.from('123456789');
const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

test('check values of "123456789"', () => {
  assert.equal(hex(checksumOf('CRC32', CHECK)), 'cbf43926');
  assert.equal(hex(checksumOf('CRC32C', CHECK)), 'e3069283');
  assert.equal(hex(checksumOf('CRC64NVME', CHECK)), 'ae8b14860a799888');
  assert.equal(hex(checksumOf('SHA1', CHECK)), 'f7c3bc1d808e04732adf679965ccc34ca7ae3441');
  assert.equal(
    hex(checksumOf('SHA256', CHECK)),
    '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
  );
  // the AWS docs trailer example: 66560 bytes of 'a'
  assert.equal(checksumOf('CRC32C', Buffer.alloc(66560, 'a')), 'sOO8/Q==');
});

function crc64Reference(data: Uint8Array): string {
  const poly = 0x9a6c9329ac4bc9b5n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return (crc ^ 0xffffffffffffffffn).toString(16).padStart(16, '0');
}

test('property: every algorithm gives the same digest however the input is split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 5 }), (data, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      for (const algorithm of CHECKSUM_ALGORITHMS) {
        const c = createChecksummer(algorithm);
        let last = 0;
        for (const p of [...points, data.length]) {
          c.update(data.subarray(last, p));
          last = p;
        }
        assert.equal(c.digestBase64(), checksumOf(algorithm, data), algorithm);
      }
      assert.equal(hex(checksumOf('CRC64NVME', data)), crc64Reference(data));
    }),
    { numRuns: 200 },
  );
});

test('header names and value validation', () => {
  assert.equal(checksumHeaderName('CRC64NVME'), 'x-amz-checksum-crc64nvme');
  assert.equal(checksumAlgorithmOfHeader('X-Amz-Checksum-CRC32C'), 'CRC32C');
  assert.equal(checksumAlgorithmOfHeader('x-amz-checksum-mode'), undefined);
  assert.equal(checksumAlgorithmOfHeader('x-amz-checksum-type'), undefined);
  assert.ok(isValidChecksumValue('CRC32', checksumOf('CRC32', CHECK)));
  assert.ok(!isValidChecksumValue('CRC32', checksumOf('SHA1', CHECK)));
  assert.ok(!isValidChecksumValue('SHA256', 'not base64!'));
});
