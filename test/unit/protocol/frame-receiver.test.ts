import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameType,
  ProtocolError,
  Status,
  encodeEnd,
  encodeError,
  encodeSegment,
} from '../../../shared/protocol/index.ts';
import { FrameReceiver } from '../../../shared/protocol/frame-receiver.ts';
import { putBody, receiveInPlace as receive } from './receive.ts';

test('segments land in place in the destination, at their offset, whatever the read sizes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }),
      fc.array(fc.nat({ max: 20_000 })),
      (segments, cuts) => {
        const { wire } = putBody(segments);
        const total = segments.reduce((n, s) => n + s.byteLength, 0);
        const destination = Buffer.alloc(total);
        const r = new FrameReceiver();
        r.setDestination(destination);
        const frames = receive(r, wire, cuts);
        assert.equal(frames.length, segments.length + 1);
        let offset = 0;
        segments.forEach((s, i) => {
          const f = frames[i]!;
          assert.ok(f.type === FrameType.SEGMENT);
          assert.equal(f.index, i);
          assert.equal(f.crc, i * 7);
          assert.equal(f.parts.length, 1);
          const part = f.parts[0]!;
          assert.equal(part.buffer, destination.buffer, 'in the destination');
          assert.equal(part.byteOffset, destination.byteOffset + offset);
          assert.deepEqual(new Uint8Array(part), s);
          offset += s.byteLength;
        });
        assert.deepEqual(new Uint8Array(destination), new Uint8Array(Buffer.concat(segments)));
        assert.equal(frames[segments.length]!.type, FrameType.END);
      },
    ),
    { numRuns: 300 },
  );
});

test('a segment that does not fit, or came before the destination, gets its own buffer', () => {
  const a = Buffer.alloc(100, 1);
  const b = Buffer.alloc(100, 2);
  const c = Buffer.alloc(100, 3);
  const r = new FrameReceiver();
  const first = receive(r, encodeSegment(0, 0, a), []);
  const destination = Buffer.alloc(250);
  r.setDestination(destination);
  const rest = receive(r, Buffer.concat([encodeSegment(1, 0, b), encodeSegment(2, 0, c)]), [7, 50]);
  const parts = [...first, ...rest].map((f) => (f.type === FrameType.SEGMENT ? f.parts[0]! : undefined));
  assert.notEqual(parts[0]!.buffer, destination.buffer, 'segment 0 came before the destination');
  assert.equal(parts[1]!.buffer, destination.buffer, 'segment 1 at its offset, 100');
  assert.equal(parts[1]!.byteOffset - destination.byteOffset, 100);
  assert.notEqual(parts[2]!.buffer, destination.buffer, 'segment 2 (200..300) does not fit in 250 bytes');
  assert.deepEqual([parts[0], parts[1], parts[2]], [a, b, c]);
});

test('withdrawing the destination mid-segment moves the bytes received so far; the buffer is not written again', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
  const wire = encodeSegment(0, 5, data);
  const destination = Buffer.alloc(1000);
  const r = new FrameReceiver();
  r.setDestination(destination);
  let at = 0;
  while (at < 400) {
    const t = r.target();
    const n = Math.min(t.byteLength, 400 - at);
    wire.copy(t, 0, at, at + n);
    at += n;
    r.commit(n);
  }
  assert.equal(r.targetInDestination, true);
  r.setDestination(undefined);
  assert.equal(r.targetInDestination, false);
  const snapshot = Buffer.from(destination);
  while (at < wire.length) {
    const t = r.target();
    const n = Math.min(t.byteLength, wire.length - at);
    wire.copy(t, 0, at, at + n);
    at += n;
    r.commit(n);
  }
  const f = r.shift();
  assert.ok(f?.type === FrameType.SEGMENT);
  assert.notEqual(f.parts[0]!.buffer, destination.buffer);
  assert.deepEqual(f.parts[0], data);
  assert.deepEqual(destination, snapshot, 'nothing written after the withdrawal');
});

test('non-SEGMENT frames reach onFrame before they are queued; a cut frame is an error at finish', () => {
  const seen: number[] = [];
  const r = new FrameReceiver({ onFrame: (f) => seen.push(f.type) });
  const wire = Buffer.concat([
    encodeError({ status: Status.BUSY, message: 'x' }),
    encodeEnd({ segmentCount: 0, crc: 0 }),
  ]);
  r.push(wire.subarray(0, wire.length - 3));
  assert.deepEqual(seen, [FrameType.ERROR]);
  assert.equal(r.shift()?.type, FrameType.ERROR);
  r.finish();
  assert.throws(() => r.shift(), ProtocolError);
});

test('random bytes give frames or a ProtocolError, never a crash or an oversized allocation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat({ max: 400 })), (bytes, cuts) => {
      const r = new FrameReceiver({ maxSegmentPayload: 1000 });
      try {
        receive(r, Buffer.from(bytes), cuts);
        for (let f = r.shift(); f; f = r.shift());
      } catch (err) {
        assert.ok(err instanceof ProtocolError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});
