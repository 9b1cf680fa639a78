import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameDecoder,
  FrameType,
  ProtocolError,
  encodeEnd,
  encodeSegment,
  encodeError,
  Status,
  type StreamFrame,
} from '../../../shared/protocol/index.ts';

function feed(bytes: Buffer, cuts: number[], options = {}): StreamFrame[] {
  const d = new FrameDecoder(options);
  const out: StreamFrame[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    d.push(bytes.subarray(at, cut));
    at = cut;
    for (let f = d.nextFrame(); f; f = d.nextFrame()) out.push(f);
  }
  d.finish();
  return out;
}

test('SEGMENT frames come out as parts that join to the segment, whatever the chunking', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }),
      fc.array(fc.nat({ max: 20_000 })),
      (segments, cuts) => {
        const wire = Buffer.concat([
          ...segments.map((s, i) => encodeSegment(i, i * 7, s)),
          encodeEnd({ segmentCount: segments.length, crc: 1 }),
        ]);
        const frames = feed(wire, cuts);
        assert.equal(frames.length, segments.length + 1);
        segments.forEach((s, i) => {
          const f = frames[i]!;
          assert.equal(f.type, FrameType.SEGMENT);
          if (f.type !== FrameType.SEGMENT) return;
          assert.equal(f.index, i);
          assert.equal(f.crc, i * 7);
          assert.equal(f.length, s.length);
          assert.deepEqual(new Uint8Array(Buffer.concat(f.parts)), s);
          for (const p of f.parts) assert.equal(p.buffer, wire.buffer, 'parts are slices, not copies');
        });
        assert.equal(frames[segments.length]!.type, FrameType.END);
      },
    ),
    { numRuns: 300 },
  );
});

test('nextFrame refuses short and oversized SEGMENT frames and unknown types', () => {
  const short = Buffer.from([FrameType.SEGMENT, 0, 0, 0, 4, 1, 2, 3, 4]);
  assert.throws(() => feed(short, []), ProtocolError);
  const big = encodeSegment(0, 0, Buffer.alloc(100));
  assert.throws(() => feed(big, [], { maxSegmentPayload: 50 }), ProtocolError);
  assert.throws(() => feed(Buffer.from([0x7e, 0, 0, 0, 0]), []), ProtocolError);
  // Control frames still come whole.
  const err = feed(encodeError({ status: Status.BUSY, message: 'x' }), [2, 3, 6]);
  assert.equal(err[0]?.type, FrameType.ERROR);
});

test('random bytes through nextFrame give frames or ProtocolError, never a crash', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat({ max: 300 })), (bytes, cuts) => {
      try {
        feed(Buffer.from(bytes), cuts);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, String(err));
      }
    }),
    { numRuns: 1000 },
  );
});
