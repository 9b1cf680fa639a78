import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  messageFromJson,
  messageToJson,
} from '../../../appliance/s3db/raft/codec.ts';
import { RaftCodecError } from '../../../appliance/s3db/raft/errors.ts';
import type { Entry, Message } from '../../../appliance/s3db/raft/types.ts';

const u = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const bytes = fc.uint8Array({ maxLength: 64 });
const entry: fc.Arbitrary<Entry> = fc.record({
  term: u,
  index: u,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: bytes,
});
const header = { from: id, to: id, term: u };
const message: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({
      from: id,
      to: id,
      index: fc.integer({ min: 0, max: 2 ** 40 }),
      logTerm: fc.integer({ min: 0, max: 2 ** 40 }),
      commit: u,
      steps: fc.array(fc.record({ bump: fc.nat(3), type: entry.map((e) => e.type), data: bytes }), {
        maxLength: 5,
      }),
      extra: fc.nat(5),
    })
    .map(({ from, to, index, logTerm, commit, steps, extra }): Message => {
      let t = logTerm;
      const entries = steps.map((st, i) => ({
        term: (t += st.bump),
        index: index + 1 + i,
        type: st.type,
        data: st.data,
      }));
      return { type: 'append', from, to, term: t + extra, index, logTerm, commit, entries };
    }),
  fc.record({
    type: fc.constant('appendResponse' as const),
    ...header,
    index: u,
    reject: fc.boolean(),
    rejectHint: u,
    logTerm: u,
  }),
  fc.record({
    type: fc.constantFrom('vote' as const, 'preVote' as const),
    ...header,
    index: u,
    logTerm: u,
    transfer: fc.boolean(),
  }),
  fc.record({
    type: fc.constantFrom('voteResponse' as const, 'preVoteResponse' as const),
    ...header,
    reject: fc.boolean(),
  }),
  fc.record({ type: fc.constant('heartbeat' as const), ...header, commit: u, context: bytes }),
  fc.record({
    type: fc.constantFrom('heartbeatResponse' as const, 'readIndex' as const),
    ...header,
    context: bytes,
  }),
  fc.record({
    type: fc.constant('snapshot' as const),
    ...header,
    snapshot: fc.record({
      metadata: fc.record({ index: u, term: u, voters: fc.array(id, { maxLength: 7 }) }),
      data: bytes,
    }),
  }),
  fc.record({ type: fc.constant('timeoutNow' as const), ...header }),
  fc.record({ type: fc.constant('readIndexResponse' as const), ...header, index: u, context: bytes }),
);

/** fast-check builds null-prototype records; compare against ordinary objects. */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
}

test('every message round-trips exactly', () => {
  fc.assert(
    fc.property(message, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), plain(m));
    }),
    { numRuns: 2000 },
  );
});

test('encoding is compact: a heartbeat is a handful of bytes', () => {
  const hb = encodeMessage({
    type: 'heartbeat',
    from: 1,
    to: 2,
    term: 7,
    commit: 1000,
    context: new Uint8Array(),
  });
  assert.ok(hb.length <= 10, `${hb.length} bytes`);
});

test('decoding truncated or extended encodings throws RaftCodecError', () => {
  fc.assert(
    fc.property(message, fc.nat(), (m, cut) => {
      const b = encodeMessage(m);
      const at = cut % b.length;
      assert.throws(() => decodeMessage(b.subarray(0, at)), RaftCodecError);
      const longer = new Uint8Array(b.length + 1);
      longer.set(b);
      assert.throws(() => decodeMessage(longer), RaftCodecError);
    }),
    { numRuns: 500 },
  );
});

test('random garbage never throws anything but RaftCodecError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
      try {
        decodeMessage(garbage);
      } catch (err) {
        assert.ok(err instanceof RaftCodecError, String(err));
      }
    }),
    { numRuns: 3000 },
  );
  assert.throws(() => decodeMessage(new Uint8Array([2, 1])), /version/);
  assert.throws(() => decodeMessage(new Uint8Array([1, 99])), /type code/);
  assert.throws(
    () => decodeMessage(new Uint8Array([1, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1])),
    RaftCodecError,
  );
});

test('encoding refuses values that cannot be represented', () => {
  assert.throws(() => encodeMessage({ type: 'timeoutNow', from: 1, to: 2, term: -1 }), RaftCodecError);
  assert.throws(() => encodeMessage({ type: 'timeoutNow', from: 1.5, to: 2, term: 1 }), RaftCodecError);
});

test('JSON form round-trips every message and rejects malformed ones', () => {
  fc.assert(
    fc.property(message, (m) => {
      assert.deepEqual(messageFromJson(messageToJson(m)), plain(m));
    }),
    { numRuns: 500 },
  );
  assert.throws(() => messageFromJson('{'), RaftCodecError);
  assert.throws(() => messageFromJson('{"type":"heartbeat","from":1,"to":2,"term":3}'), RaftCodecError);
  assert.throws(() => messageFromJson('{"type":"nope","from":1,"to":2,"term":3}'), RaftCodecError);
  assert.throws(
    () => messageFromJson('{"type":"readIndex","from":1,"to":2,"term":3,"context":{"$b64":5}}'),
    RaftCodecError,
  );
  assert.throws(() => messageFromJson('null'), RaftCodecError);
});

test('an append whose entries do not follow its prev entry is refused', () => {
  const base = { type: 'append' as const, from: 1, to: 2, term: 5, index: 3, logTerm: 2, commit: 0 };
  const e = (index: number, term: number) => ({
    index,
    term,
    type: 'normal' as const,
    data: new Uint8Array(),
  });
  for (const entries of [[e(5, 3)], [e(4, 3), e(6, 3)], [e(4, 1)], [e(4, 6)], [e(4, 4), e(5, 3)]]) {
    assert.throws(() => decodeMessage(encodeMessage({ ...base, entries })), RaftCodecError);
  }
  assert.deepEqual(decodeMessage(encodeMessage({ ...base, entries: [e(4, 2), e(5, 5)] })).type, 'append');
});
