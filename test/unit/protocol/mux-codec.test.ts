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
        // DATA bodies come out in pieces (slices of the pushed chunks); each frame here is followed by a WINDOW.
        const got = decode(bytes, cuts);
        const rebuilt: Array<{ id: number; data: Buffer; window: number }> = [];
        let pieces: Buffer[] = [];
        let pieceStream: number | undefined;
        for (const f of got) {
          if (f.type === MuxFrameType.DATA) {
            if (pieceStream !== undefined) assert.equal(f.streamId, pieceStream);
            pieceStream = f.streamId;
            pieces.push(f.payload);
          } else {
            assert.equal(f.type, MuxFrameType.WINDOW);
            rebuilt.push({ id: f.streamId, data: Buffer.concat(pieces), window: f.payload.readUInt32BE(0) });
            if (pieceStream !== undefined) assert.equal(pieceStream, f.streamId);
            pieces = [];
            pieceStream = undefined;
          }
        }
        assert.equal(rebuilt.length, frames.length);
        frames.forEach(([id, data], i) => {
          assert.equal(rebuilt[i]!.id, id);
          assert.deepEqual(new Uint8Array(rebuilt[i]!.data), data);
          assert.equal(rebuilt[i]!.window, data.length);
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

test('a DATA body split over chunks comes out as slices of them, without waiting for the whole frame', () => {
  const d = new MuxDecoder();
  const body = Buffer.alloc(40_000, 9);
  const wire = Buffer.concat([muxHeader(5, MuxFrameType.DATA, body.length), body]);
  const first = wire.subarray(0, 16_384);
  d.push(first);
  const a = d.next();
  assert.equal(a?.type, MuxFrameType.DATA);
  assert.equal(a?.payload.byteLength, 16_384 - 9);
  assert.equal(a?.payload.buffer, first.buffer, 'a slice of the pushed chunk, not a copy');
  assert.equal(d.next(), undefined);
  d.push(wire.subarray(16_384));
  const b = d.next();
  assert.equal(b?.streamId, 5);
  assert.equal(b?.payload.byteLength, 40_000 - (16_384 - 9));
  assert.equal(d.next(), undefined);
});
