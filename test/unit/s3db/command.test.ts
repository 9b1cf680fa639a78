import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCommands, encodeCommands, validateCommand } from '../../../appliance/s3db/command.ts';
import type { Command } from '../../../appliance/s3db/command.ts';
import { S3dbError } from '../../../appliance/s3db/errors.ts';
import { parseHex, prefixUpperBound, storageKey, toHex } from '../../../appliance/s3db/keys.ts';

const table = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/);
const key = fc.uint8Array({ minLength: 1, maxLength: 40 });
const value = fc.uint8Array({ maxLength: 100 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), table, key, value }),
  fc.record({ type: fc.constant('delete' as const), table, key }),
  fc.record({
    type: fc.constant('batch' as const),
    preconditions: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('absent' as const), table, key }),
        fc.record({ kind: fc.constant('exists' as const), table, key }),
        fc.record({ kind: fc.constant('valueEquals' as const), table, key, value }),
        fc.record({ kind: fc.constant('versionEquals' as const), table, key, version: fc.nat() }),
      ),
      { maxLength: 4 },
    ),
    ops: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('put' as const), table, key, value }),
        fc.record({ kind: fc.constant('delete' as const), table, key }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  }),
);

test('entry payloads round-trip any commands with binary keys and values', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 5 }), (cmds) => {
      const plain: Command[] = structuredClone(cmds);
      assert.deepStrictEqual(decodeCommands(encodeCommands(plain)), plain);
    }),
    { numRuns: 300 },
  );
});

test('truncated or trailing input is rejected with a typed error', () => {
  const bytes = encodeCommands([
    { type: 'put', table: 't', key: new Uint8Array([0, 0xff]), value: new Uint8Array([7]) },
  ]);
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(
      () => decodeCommands(bytes.subarray(0, n)),
      (e: unknown) => e instanceof S3dbError && e.code === 'InvalidCommand',
    );
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodeCommands(longer), S3dbError);
});

test('validation rejects bad tables, empty keys and empty batches', () => {
  assert.throws(
    () => validateCommand({ type: 'put', table: 'a/b', key: new Uint8Array([1]), value: new Uint8Array() }),
    /table/,
  );
  assert.throws(() => validateCommand({ type: 'delete', table: 'a', key: new Uint8Array() }), /empty/);
  assert.throws(() => validateCommand({ type: 'batch', preconditions: [], ops: [] }), /no operations/);
});

test('hex parsing is strict and storage keys keep byte order within a table', () => {
  assert.deepEqual([...parseHex('00ff10')], [0, 255, 16]);
  assert.throws(() => parseHex('0'), /hex/);
  assert.throws(() => parseHex('zz'), /hex/);
  assert.equal(toHex(new Uint8Array([0, 171])), '00ab');
  fc.assert(
    fc.property(key, key, (a, b) => {
      const order = Math.sign(Buffer.compare(a, b));
      assert.equal(Math.sign(Buffer.compare(storageKey('t', a), storageKey('t', b))), order);
    }),
  );
  assert.deepEqual([...prefixUpperBound(new Uint8Array([1, 0xff]))!], [2]);
  assert.equal(prefixUpperBound(new Uint8Array([0xff, 0xff])), undefined);
});
