import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BatchBodyError, decodeBatchBody, encodeBatchBody } from '../../../shared/s3db-client/batch-body.ts';
import type { BinaryBatch } from '../../../shared/s3db-client/batch-body.ts';
import { parseBinaryBatchBody } from '../../../appliance/s3db/http/bodies.ts';
import { S3dbError } from '../../../appliance/s3db/errors.ts';

const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array(b));
const table = fc.string({ maxLength: 20 });
const precondition = fc.oneof(
  fc.record({ kind: fc.constantFrom('absent' as const, 'exists' as const), table, key: bytes }),
  fc.record({ kind: fc.constant('valueEquals' as const), table, key: bytes, value: bytes }),
  fc.record({
    kind: fc.constant('versionEquals' as const),
    table,
    key: bytes,
    version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  }),
);
const op = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), table, key: bytes, value: bytes }),
  fc.record({ kind: fc.constant('delete' as const), table, key: bytes }),
);
const batch: fc.Arbitrary<BinaryBatch> = fc.record({
  preconditions: fc.array(precondition, { maxLength: 8 }),
  ops: fc.array(op, { maxLength: 8 }),
});

test('binary batch body: decode(encode(b)) = b for any batch', () => {
  fc.assert(
    fc.property(batch, (b) => {
      const plain = {
        preconditions: b.preconditions.map((p) => ({ ...p })),
        ops: b.ops.map((o) => ({ ...o })),
      };
      assert.deepEqual(decodeBatchBody(encodeBatchBody(b)), plain);
    }),
    { numRuns: 300 },
  );
});

test('binary batch body: every truncation, trailing bytes, bad magic and unknown kinds are refused', () => {
  const good = encodeBatchBody({
    preconditions: [{ kind: 'versionEquals', table: 'buckets', key: new Uint8Array([1, 2]), version: 7 }],
    ops: [{ kind: 'put', table: 'objects', key: new Uint8Array([3]), value: new Uint8Array(300).fill(9) }],
  });
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => decodeBatchBody(good.subarray(0, n)), BatchBodyError, `truncated at ${n}`);
  }
  assert.throws(() => decodeBatchBody(Buffer.concat([good, Buffer.from([0])])), /trailing/);
  const badMagic = Buffer.from(good);
  badMagic[0] = 0x7b; // '{' — a JSON body sent with the binary content type
  assert.throws(() => decodeBatchBody(badMagic), /magic/);
  const badKind = Buffer.from(good);
  badKind[9] = 9; // the first precondition's kind
  assert.throws(() => decodeBatchBody(badKind), /unknown kind/);
});

test('binary batch body on the server: same validation as the JSON body (internal tables, empty batch, bad table)', () => {
  const cmd = parseBinaryBatchBody(
    encodeBatchBody({
      preconditions: [{ kind: 'absent', table: 'buckets', key: new Uint8Array([1]) }],
      ops: [{ kind: 'put', table: 'buckets', key: new Uint8Array([1]), value: new Uint8Array([5]) }],
    }),
  );
  assert.equal(cmd.type, 'batch');
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof S3dbError);
      return e.code;
    }
    return 'none';
  };
  const put = (t: string): Uint8Array =>
    encodeBatchBody({
      preconditions: [],
      ops: [{ kind: 'put', table: t, key: new Uint8Array([1]), value: new Uint8Array() }],
    });
  assert.equal(
    code(() => parseBinaryBatchBody(put('_members'))),
    'InvalidTable',
  );
  assert.equal(
    code(() => parseBinaryBatchBody(put('bad/table'))),
    'InvalidTable',
  );
  assert.equal(
    code(() => parseBinaryBatchBody(encodeBatchBody({ preconditions: [], ops: [] }))),
    'InvalidCommand',
  );
  assert.equal(
    code(() => parseBinaryBatchBody(new Uint8Array([1, 2, 3]))),
    'InvalidRequest',
  );
});
