import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, asBuffer } from '../../../shared/bytes/index.ts';

class TestError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

const failWith = (message: string, truncated: boolean): Error => new TestError(message, truncated);

test('values round-trip; remaining and rest() see the unread bytes without a copy', () => {
  const bytes = new ByteWriter()
    .u8(7)
    .u16(300)
    .u32(70_000)
    .u64(2 ** 40)
    .str('hé')
    .raw(Buffer.from('tail'))
    .finish();
  const r = new ByteReader(bytes);
  assert.deepEqual([r.u8(), r.u16(), r.u32(), r.u64(), r.str()], [7, 300, 70_000, 2 ** 40, 'hé']);
  assert.equal(r.remaining, 4);
  const rest = r.rest();
  assert.equal(rest.buffer, bytes.buffer, 'a view into the input');
  assert.equal(asBuffer(rest).toString('latin1'), 'tail');
  assert.equal(r.remaining, 0);
  assert.ok(r.done);
  r.expectEnd();
});

test('the error factory hears whether the input was cut short', () => {
  const u32 = new ByteWriter().u32(1).finish();
  for (let cut = 0; cut < u32.length; cut++) {
    assert.throws(
      () => new ByteReader(u32.subarray(0, cut), failWith).u32(),
      (e: unknown) => e instanceof TestError && e.truncated && e.message.startsWith('truncated'),
    );
  }
  const left = new ByteReader(new Uint8Array(3), failWith);
  left.u8();
  assert.throws(
    () => left.expectEnd(),
    (e: unknown) => e instanceof TestError && !e.truncated && e.message === '2 trailing bytes',
  );
  const big = new ByteReader(new Uint8Array(8).fill(0xff), failWith);
  assert.throws(
    () => big.u64(),
    (e: unknown) => e instanceof TestError && !e.truncated,
  );
});

test('without a factory the reader throws RangeError, as its s3db users expect by default', () => {
  assert.throws(() => new ByteReader(new Uint8Array(1)).u16(), RangeError);
  assert.throws(() => new ByteReader(new Uint8Array(1)).expectEnd(), RangeError);
});
