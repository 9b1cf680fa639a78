import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FRAME_HEADER_BYTES,
  Op,
  PROTOCOL_VERSION,
  ProtocolError,
  checkRequestId,
  decodeRequest,
  encodeRequest,
  type RequestBody,
  type RequestMessage,
} from '../../../shared/protocol/index.ts';

const key = { versionId: new Uint8Array(16).fill(7), chunkIndex: 3, shardIndex: 2 };
const bodies: RequestBody[] = [
  { op: Op.PUT_SHARD, key, rsData: 3, rsParity: 2, segmentCount: 4, totalBytes: 1000 },
  { op: Op.FETCH_SHARD, key, firstSegment: 1, segmentCount: 0 },
  { op: Op.DELETE_SHARD, key },
  { op: Op.SHARD_STAT, key },
  { op: Op.STAT },
  { op: Op.LIST, limit: 10 },
  { op: Op.LIST, after: key, limit: 10 },
];

function payloadOf(req: RequestMessage): Buffer {
  return encodeRequest(req).subarray(FRAME_HEADER_BYTES);
}

const idArb = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 64,
});

test('a request id round-trips on every op', () => {
  fc.assert(
    fc.property(fc.constantFrom(...bodies), idArb, (body, requestId) => {
      const req: RequestMessage = { version: PROTOCOL_VERSION, deadlineMs: 5000, body, requestId };
      assert.deepEqual(decodeRequest(payloadOf(req)), req);
    }),
  );
});

test('requests without an id are encoded byte for byte as before and decode without one', () => {
  for (const body of bodies) {
    const plain = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body });
    const withId = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body, requestId: 'req-1' });
    // The id is a trailer after the op fields: the old encoding is a prefix of the new one.
    assert.deepEqual(withId.subarray(0, plain.byteLength), plain);
    assert.equal(withId.byteLength, plain.byteLength + 2 + 5);
    const decoded = decodeRequest(plain);
    assert.equal('requestId' in decoded, false);
  }
});

test('trailer fields with unknown tags are skipped', () => {
  const base = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body: bodies[2]!, requestId: 'abc' });
  const unknown = Buffer.from([0x7f, 3, 1, 2, 3]);
  const decoded = decodeRequest(Buffer.concat([base, unknown]));
  assert.equal(decoded.requestId, 'abc');
  const onlyUnknown = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body: bodies[4]! });
  assert.equal(decodeRequest(Buffer.concat([onlyUnknown, unknown])).requestId, undefined);
});

test('bad ids are refused by the encoder and the decoder', () => {
  for (const bad of ['', ' ', 'has space', 'x'.repeat(65), 'é', 'tab\t', 'nul\0']) {
    assert.throws(() => checkRequestId(bad), ProtocolError, JSON.stringify(bad));
    assert.throws(
      () =>
        encodeRequest({ version: PROTOCOL_VERSION, deadlineMs: 0, body: { op: Op.STAT }, requestId: bad }),
      ProtocolError,
    );
  }
  checkRequestId('x'.repeat(64));
  const stat = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body: { op: Op.STAT } });
  const cases = [
    Buffer.from([1, 0]), // empty id
    Buffer.from([1, 2, 0x41, 0x20]), // space
    Buffer.from([1, 2, 0x41]), // truncated value
    Buffer.from([1]), // truncated length
    Buffer.concat([Buffer.from([1, 1, 0x41]), Buffer.from([1, 1, 0x42])]), // twice
    Buffer.from([1, 65, ...Buffer.alloc(65, 0x41)]), // too long
  ];
  for (const trailer of cases) {
    assert.throws(
      () => decodeRequest(Buffer.concat([stat, trailer])),
      ProtocolError,
      trailer.toString('hex'),
    );
  }
});

test('random trailers give a request or a ProtocolError, never anything else', () => {
  const stat = payloadOf({ version: PROTOCOL_VERSION, deadlineMs: 0, body: { op: Op.STAT } });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        const r = decodeRequest(Buffer.concat([stat, bytes]));
        assert.equal(r.body.op, Op.STAT);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, String(err));
      }
    }),
  );
});
