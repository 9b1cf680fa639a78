import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, md5Hex } from '../../../shared/checksum/index.ts';

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('crc32c continues across buffers with a seed', () => {
  const whole = Buffer.from('hello, predastore');
  const split = crc32c(whole.subarray(6), crc32c(whole.subarray(0, 6)));
  assert.equal(split, crc32c(whole));
});

test('crc32c of a subarray only covers that view', () => {
  const backing = Buffer.from('xx123456789yy');
  assert.equal(crc32c(backing.subarray(2, 11)), 0xe3069283);
});

test('md5Hex of empty input', () => {
  assert.equal(md5Hex(new Uint8Array(0)), 'd41d8cd98f00b204e9800998ecf8427e');
});
