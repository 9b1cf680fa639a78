import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MuxDecoder,
  MuxFrameType,
  MuxProtocolError,
  muxControl,
  muxHeader,
  u32Payload,
  MUX_MAX_DATA,
  type MuxFrame,
} from '../../../shared/transport/mux-codec.ts';

function decode(bytes: Buffer, cuts: number[]): MuxFrame[] {
  const d = new MuxDecoder();
  const out: MuxFrame[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    d.push(bytes.subarray(at, cut));
    at = cut;
    for (let f = d.next(); f; f = d.next()) out.push(f);
  }
  return out;
}

test('mux frames round-trip whatever the chunking', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 5000 })), { maxLength: 10 }),
      fc.array(fc.nat({ max: 60000 })),
      (frames, cuts) => {
        const bytes = Buffer.concat(
          frames.flatMap(([id, data]) => [
            muxHeader(id, MuxFrameType.DATA, data.length),
            Buffer.from(data),
            muxControl(id, MuxFrameType.WINDOW, u32Payload(data.length)),
          ]),
        );
        const got = decode(bytes, cuts);
        assert.equal(got.length, frames.length * 2);
        frames.forEach(([id, data], i) => {
          assert.equal(got[2 * i]!.streamId, id);
          assert.deepEqual(new Uint8Array(got[2 * i]!.payload), data);
          assert.equal(got[2 * i + 1]!.payload.readUInt32BE(0), data.length);
        });
      },
    ),
    { numRuns: 200 },
  );
});

test('random bytes give frames or MuxProtocolError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        decode(Buffer.from(bytes), []);
      } catch (err) {
        assert.ok(err instanceof MuxProtocolError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('oversized frames are refused from the header', () => {
  const d = new MuxDecoder();
  d.push(muxHeader(1, MuxFrameType.DATA, MUX_MAX_DATA + 1));
  assert.throws(() => d.next(), MuxProtocolError);
  const d2 = new MuxDecoder();
  d2.push(muxHeader(1, MuxFrameType.WINDOW, 1000));
  assert.throws(() => d2.next(), MuxProtocolError);
});
