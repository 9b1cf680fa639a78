import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameType,
  ProtocolError,
  Status,
  Op,
  encodeRequest,
  decodeRequest,
  encodeResponse,
  decodeResponse,
  encodeSegment,
  encodeEnd,
  decodeEnd,
  encodeError,
  decodeError,
  type RequestMessage,
  type ResponseMessage,
  type StreamFrame,
  type WireShardKey,
  PROTOCOL_VERSION,
} from '../../../shared/protocol/index.ts';
import { FrameReceiver } from '../../../shared/protocol/frame-receiver.ts';
import { receivePushed } from './receive.ts';

const keyArb: fc.Arbitrary<WireShardKey> = fc.record({
  versionId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  chunkIndex: fc.nat({ max: 0xffffffff }),
  shardIndex: fc.nat({ max: 255 }),
});
const u32 = fc.nat({ max: 0xffffffff });
const length = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const requestArb: fc.Arbitrary<RequestMessage> = fc.record({
  version: fc.constant(PROTOCOL_VERSION),
  deadlineMs: u32,
  body: fc.oneof(
    fc.record({
      op: fc.constant(Op.PUT_SHARD),
      key: keyArb,
      rsData: fc.integer({ min: 1, max: 255 }),
      rsParity: fc.nat({ max: 255 }),
      segmentCount: u32,
      totalBytes: length,
    }),
    fc.record({ op: fc.constant(Op.FETCH_SHARD), key: keyArb, firstSegment: u32, segmentCount: u32 }),
    fc.record({ op: fc.constant(Op.DELETE_SHARD), key: keyArb }),
    fc.record({ op: fc.constant(Op.SHARD_STAT), key: keyArb }),
    fc.record({ op: fc.constant(Op.STAT) }),
    fc.record(
      { op: fc.constant(Op.LIST), after: keyArb, limit: fc.integer({ min: 1, max: 10_000 }) },
      { requiredKeys: ['op', 'limit'] },
    ),
  ),
});

const infoArb = fc.record({
  key: keyArb,
  rsData: fc.integer({ min: 1, max: 255 }),
  rsParity: fc.nat({ max: 255 }),
  segmentCount: u32,
  length,
});

const responseArb: fc.Arbitrary<ResponseMessage> = fc.oneof(
  fc.record({
    status: fc.constant(Status.OK),
    body: fc.oneof(
      fc.record({ op: fc.constant(Op.PUT_SHARD) }),
      fc.record({
        op: fc.constant(Op.FETCH_SHARD),
        totalLength: length,
        firstSegment: u32,
        segmentCount: u32,
      }),
      fc.record({ op: fc.constant(Op.DELETE_SHARD), existed: fc.boolean() }),
      fc.record({
        op: fc.constant(Op.STAT),
        stats: fc.record({
          shardCount: fc.nat(),
          liveBytes: fc.nat(),
          usedBytes: fc.nat(),
          diskTotalBytes: fc.nat(),
          diskFreeBytes: fc.nat(),
          inflightRequests: fc.nat(),
          uptimeSeconds: fc.double({ min: 0, max: 1e9, noNaN: true }),
        }),
      }),
      fc.record(
        { op: fc.constant(Op.LIST), entries: fc.array(infoArb, { maxLength: 20 }), nextAfter: keyArb },
        { requiredKeys: ['op', 'entries'] },
      ),
      fc.record({ op: fc.constant(Op.SHARD_STAT), info: infoArb }),
    ),
  }),
  fc.record({
    status: fc.constantFrom(Status.NOT_FOUND, Status.CORRUPT, Status.DISK_FULL, Status.BAD_REQUEST),
    op: fc.integer({ min: 1, max: 6 }),
    message: fc.string({ maxLength: 100 }),
  }),
);

/** Parses `bytes` with the receiver the transports use, as chunks cut at `splits`; throws ProtocolError on bad frames. */
function decodeAll(bytes: Buffer, splits: number[] = []): StreamFrame[] {
  return receivePushed(new FrameReceiver(), bytes, splits);
}

/** The payload of a control frame; fails the test for a SEGMENT. */
function payloadOf(frame: StreamFrame | undefined): Buffer {
  assert.ok(frame !== undefined && frame.type !== FrameType.SEGMENT, 'a control frame');
  return frame.payload;
}

/**
 * Decodes one frame's payload with the decoder for its type; throws ProtocolError on invalid bytes. A SEGMENT
 * was already split into index, crc and data by the receiver.
 */
function decodePayload(frame: StreamFrame): unknown {
  switch (frame.type) {
    case FrameType.REQUEST:
      return decodeRequest(frame.payload);
    case FrameType.RESPONSE:
      return decodeResponse(frame.payload);
    case FrameType.SEGMENT:
      return frame;
    case FrameType.END:
      return decodeEnd(frame.payload);
    case FrameType.ERROR:
      return decodeError(frame.payload);
  }
}

test('requests round-trip through frames split at any points', () => {
  fc.assert(
    fc.property(requestArb, fc.array(fc.nat({ max: 100 })), (req, splits) => {
      const frames = decodeAll(encodeRequest(req), splits);
      assert.equal(frames.length, 1);
      assert.equal(frames[0]?.type, FrameType.REQUEST);
      assert.deepEqual(decodeRequest(payloadOf(frames[0])), structuredClone(req));
    }),
    { numRuns: 300 },
  );
});

test('responses round-trip', () => {
  fc.assert(
    fc.property(responseArb, (res) => {
      const frames = decodeAll(encodeResponse(res));
      assert.deepEqual(decodeResponse(payloadOf(frames[0])), structuredClone(res));
    }),
    { numRuns: 300 },
  );
});

test('a PUT body (segments + END + ERROR) round-trips as a sequence of frames', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }),
      fc.array(fc.nat({ max: 30000 })),
      (segments, splits) => {
        const bytes = Buffer.concat([
          ...segments.map((s, i) => encodeSegment(i, i * 7, s)),
          encodeEnd({ segmentCount: segments.length, crc: 0xdeadbeef }),
          encodeError({ status: Status.CANCELLED, message: 'stop ✋' }),
        ]);
        const frames = decodeAll(bytes, splits);
        assert.equal(frames.length, segments.length + 2);
        segments.forEach((s, i) => {
          const seg = frames[i];
          assert.ok(seg?.type === FrameType.SEGMENT);
          assert.equal(seg.index, i);
          assert.equal(seg.crc, i * 7);
          assert.equal(seg.length, s.byteLength);
          assert.deepEqual(new Uint8Array(Buffer.concat(seg.parts)), s);
        });
        assert.deepEqual(decodeEnd(payloadOf(frames[segments.length])), {
          segmentCount: segments.length,
          crc: 0xdeadbeef,
        });
        assert.deepEqual(decodeError(payloadOf(frames[segments.length + 1])), {
          status: Status.CANCELLED,
          message: 'stop ✋',
        });
      },
    ),
    { numRuns: 100 },
  );
});

test('random bytes never crash the decoders: only ProtocolError is thrown', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        for (const frame of decodeAll(Buffer.from(bytes))) decodePayload(frame);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `unexpected ${String(err)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('mutated and truncated valid frames give ProtocolError or a valid message, never a crash', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        requestArb.map((r) => encodeRequest(r)),
        responseArb.map((r) => encodeResponse(r)),
      ),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      fc.nat(),
      (frame, flips, cut) => {
        const mutated = Buffer.from(frame);
        for (const [pos, value] of flips) mutated[pos % mutated.length] = value;
        const truncated = mutated.subarray(0, cut % (mutated.length + 1));
        for (const candidate of [mutated, truncated]) {
          try {
            for (const f of decodeAll(candidate)) decodePayload(f);
          } catch (err) {
            assert.ok(err instanceof ProtocolError, `unexpected ${String(err)}`);
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('oversized lengths and unknown types are refused from the header alone', () => {
  const d = new FrameReceiver({ maxSegmentPayload: 1024 });
  d.push(Buffer.from([FrameType.SEGMENT, 0, 0, 0x10, 0])); // 4096 > 1024
  assert.ok(d.failed);
  assert.throws(() => d.shift(), ProtocolError);
  assert.throws(() => d.shift(), ProtocolError, 'stays failed');
  assert.ok(d.target().byteLength <= 13, 'nothing allocated for the refused length');
  const control = new FrameReceiver();
  control.push(Buffer.from([FrameType.RESPONSE, 0xff, 0xff, 0xff, 0xff])); // > MAX_CONTROL_PAYLOAD
  assert.throws(() => control.shift(), ProtocolError);
  assert.ok(control.target().byteLength <= 13, 'nothing allocated for the refused length');
  const d2 = new FrameReceiver();
  d2.push(Buffer.from([0x7f, 0, 0, 0, 0]));
  assert.throws(() => d2.shift(), ProtocolError);
  const d3 = new FrameReceiver();
  d3.push(encodeEnd({ segmentCount: 1, crc: 2 }).subarray(0, 7));
  assert.equal(d3.shift(), undefined);
  d3.finish();
  assert.throws(
    () => d3.shift(),
    (e: unknown) => e instanceof ProtocolError && e.truncated,
  );
});

test('a message payload cut short is a truncated ProtocolError; bytes left over or a u64 out of range are not', () => {
  const key = { versionId: new Uint8Array(16).fill(9), chunkIndex: 3, shardIndex: 2 };
  const payloads: [string, Buffer, (p: Buffer) => unknown][] = [
    [
      'PUT request',
      encodeRequest({
        version: 1,
        deadlineMs: 5,
        body: { op: Op.PUT_SHARD, key, rsData: 4, rsParity: 2, segmentCount: 3, totalBytes: 1 << 20 },
      }),
      decodeRequest,
    ],
    [
      'FETCH response',
      encodeResponse({
        status: Status.OK,
        body: { op: Op.FETCH_SHARD, totalLength: 10, firstSegment: 0, segmentCount: 1 },
      }),
      decodeResponse,
    ],
    [
      'SHARD_STAT response',
      encodeResponse({
        status: Status.OK,
        body: { op: Op.SHARD_STAT, info: { key, rsData: 4, rsParity: 2, segmentCount: 1, length: 7 } },
      }),
      decodeResponse,
    ],
    ['END', encodeEnd({ segmentCount: 2, crc: 3 }), decodeEnd],
  ];
  for (const [what, frame, decode] of payloads) {
    const payload = frame.subarray(5);
    decode(payload);
    for (let cut = 0; cut < payload.length; cut++) {
      assert.throws(
        () => decode(payload.subarray(0, cut)),
        (e: unknown) => e instanceof ProtocolError && e.truncated,
        `${what} cut at ${cut}`,
      );
    }
    if (decode !== decodeRequest) {
      assert.throws(
        () => decode(Buffer.concat([payload, Buffer.from([0])])),
        (e: unknown) => e instanceof ProtocolError && !e.truncated && /trailing/.test(e.message),
        `${what} with a byte left over`,
      );
    }
  }
  const fetch = encodeResponse({
    status: Status.OK,
    body: { op: Op.FETCH_SHARD, totalLength: 10, firstSegment: 0, segmentCount: 1 },
  }).subarray(5);
  fetch.fill(0xff, 2, 10); // totalLength = 2^64 - 1
  assert.throws(
    () => decodeResponse(fetch),
    (e: unknown) => e instanceof ProtocolError && !e.truncated && e.message.startsWith('RESPONSE: '),
  );
});

test('encoders refuse out-of-range fields with ProtocolError', () => {
  const key = { versionId: new Uint8Array(16), chunkIndex: 0, shardIndex: 0 };
  assert.throws(
    () =>
      encodeRequest({
        version: 1,
        deadlineMs: 0,
        body: { op: Op.DELETE_SHARD, key: { ...key, versionId: new Uint8Array(3) } },
      }),
    ProtocolError,
  );
  assert.throws(
    () =>
      encodeRequest({
        version: 1,
        deadlineMs: 0,
        body: { op: Op.FETCH_SHARD, key, firstSegment: -1, segmentCount: 1 },
      }),
    ProtocolError,
  );
  assert.throws(
    () => encodeRequest({ version: 1, deadlineMs: 0, body: { op: Op.LIST, limit: 0 } }),
    ProtocolError,
  );
  assert.throws(
    () =>
      encodeRequest({
        version: 1,
        deadlineMs: 0,
        body: { op: Op.PUT_SHARD, key, rsData: 0, rsParity: 1, segmentCount: 1, totalBytes: 1 },
      }),
    ProtocolError,
  );
});
