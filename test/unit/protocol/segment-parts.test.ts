import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameType,
  ProtocolError,
  encodeSegment,
  encodeError,
  placeSegmentParts,
  Status,
  type SegmentFrame,
  type StreamFrame,
} from '../../../shared/protocol/index.ts';
import { FrameReceiver } from '../../../shared/protocol/frame-receiver.ts';
import { putBody, receiveInPlace, receivePushed, type TargetWrite } from './receive.ts';

function segmentsOf(frames: StreamFrame[]): SegmentFrame[] {
  return frames.filter((f): f is SegmentFrame => f.type === FrameType.SEGMENT);
}

function assertSegments(frames: StreamFrame[], segments: Uint8Array[]): void {
  assert.equal(frames.length, segments.length + 1);
  segments.forEach((s, i) => {
    const f = frames[i]!;
    assert.ok(f.type === FrameType.SEGMENT);
    assert.equal(f.index, i);
    assert.equal(f.crc, i * 7);
    assert.equal(f.length, s.length);
    assert.equal(f.parts.length, 1, 'one part: the segment is received whole into one region');
    assert.deepEqual(new Uint8Array(f.parts[0]!), new Uint8Array(s));
  });
  assert.equal(frames[segments.length]!.type, FrameType.END);
}

test('SEGMENT frames come out as one part holding the segment, whatever the chunking, both ways of feeding', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }),
      fc.array(fc.nat({ max: 20_000 })),
      (segments, cuts) => {
        const { wire } = putBody(segments);
        assertSegments(receivePushed(new FrameReceiver(), wire, cuts), segments);
        assertSegments(receiveInPlace(new FrameReceiver(), wire, cuts), segments);
      },
    ),
    { numRuns: 300 },
  );
});

test('a segment part is the region the receiver chose: its bytes are where the transport wrote them, not copied after', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat({ max: 20_000 })),
      (segments, cuts) => {
        const { wire, dataStarts } = putBody(segments);
        const writes: TargetWrite[] = [];
        const frames = segmentsOf(receiveInPlace(new FrameReceiver(), wire, cuts, writes));
        frames.forEach((f, i) => {
          const part = f.parts[0]!;
          const dataStart = dataStarts[i]!;
          const dataEnd = dataStart + f.length;
          const into = writes.filter((w) => w.wireAt >= dataStart && w.wireAt < dataEnd);
          assert.equal(
            into.reduce((n, w) => n + w.length, 0),
            f.length,
            'every data byte was written into a target',
          );
          for (const w of into) {
            assert.ok(w.wireAt + w.length <= dataEnd, 'a data target ends with the segment');
            assert.equal(w.buffer, part.buffer, 'written into the memory of the part');
            assert.equal(
              w.byteOffset - part.byteOffset,
              w.wireAt - dataStart,
              'at the byte’s place in the part',
            );
          }
        });
      },
    ),
    { numRuns: 200 },
  );
});

test('split at every byte: a PUT body pushed one byte at a time lands in the destination', () => {
  const segments = [Buffer.alloc(300, 1), Buffer.from('segment two'), Buffer.alloc(0), Buffer.alloc(70, 3)];
  const { wire } = putBody(segments);
  const everyByte = Array.from({ length: wire.length }, (_, i) => i);
  for (const feed of [receivePushed, receiveInPlace]) {
    const destination = Buffer.alloc(segments.reduce((n, s) => n + s.length, 0));
    const r = new FrameReceiver();
    r.setDestination(destination);
    const frames = feed(r, wire, everyByte);
    assertSegments(frames, segments);
    let offset = 0;
    for (const f of segmentsOf(frames)) {
      if (f.length > 0) {
        assert.equal(f.parts[0]!.buffer, destination.buffer, `${feed.name}: in the destination`);
        assert.equal(f.parts[0]!.byteOffset - destination.byteOffset, offset);
      }
      offset += f.length;
    }
    assert.deepEqual(destination, Buffer.concat(segments));
  }
});

test('placeSegmentParts copies parts received elsewhere into the segment region and leaves in-place parts alone', () => {
  const data = Buffer.from('the bytes of one segment');
  const shard = Buffer.alloc(100);
  const region = shard.subarray(10, 10 + data.length);
  // Received in a buffer of the receiver's own: copied in.
  placeSegmentParts([Buffer.from(data)], region);
  assert.deepEqual(region, data);
  // Several parts are laid one after the other.
  region.fill(0);
  placeSegmentParts([data.subarray(0, 5), data.subarray(5, 9), data.subarray(9)], region);
  assert.deepEqual(region, data);
  // Received in place (the part is the region itself): the bytes stay as they are.
  const r = new FrameReceiver();
  r.setDestination(shard.subarray(10));
  const [frame] = segmentsOf(receiveInPlace(r, encodeSegment(0, 0, data), [3, 17]));
  assert.ok(frame !== undefined);
  assert.equal(frame.parts[0]!.byteOffset, region.byteOffset);
  placeSegmentParts(frame.parts, region);
  assert.deepEqual(region, data);
  assert.deepEqual(shard.subarray(0, 10), Buffer.alloc(10), 'nothing written before the region');
  assert.deepEqual(shard.subarray(10 + data.length), Buffer.alloc(100 - 10 - data.length), 'nor after it');
});

test('short and oversized SEGMENT frames and unknown types are refused', () => {
  for (const feed of [receivePushed, receiveInPlace]) {
    const short = Buffer.from([FrameType.SEGMENT, 0, 0, 0, 4, 1, 2, 3, 4]);
    assert.throws(() => feed(new FrameReceiver(), short, []), ProtocolError);
    const big = encodeSegment(0, 0, Buffer.alloc(100));
    assert.throws(() => feed(new FrameReceiver({ maxSegmentPayload: 50 }), big, []), ProtocolError);
    assert.throws(() => feed(new FrameReceiver(), Buffer.from([0x7e, 0, 0, 0, 0]), []), ProtocolError);
    // Control frames still come whole.
    const err = feed(new FrameReceiver(), encodeError({ status: Status.BUSY, message: 'x' }), [2, 3, 6]);
    assert.equal(err[0]?.type, FrameType.ERROR);
  }
});

test('random bytes give frames or ProtocolError, never a crash', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat({ max: 300 })), (bytes, cuts) => {
      try {
        receivePushed(new FrameReceiver(), Buffer.from(bytes), cuts);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, String(err));
      }
    }),
    { numRuns: 1000 },
  );
});
