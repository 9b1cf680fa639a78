import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKvHistory, HistoryError, type KvOperation } from '../../support/linearizability.ts';
import { createPrng } from '../../sim/prng.ts';

const put = (clientId: number, key: string, value: string, call: number, ret?: number): KvOperation => ({
  clientId,
  op: 'put',
  input: { key, value },
  output: ret === undefined ? undefined : {},
  call,
  return: ret,
});
const get = (
  clientId: number,
  key: string,
  value: string | null,
  call: number,
  ret: number,
): KvOperation => ({
  clientId,
  op: 'get',
  input: { key },
  output: { value },
  call,
  return: ret,
});
const del = (clientId: number, key: string, call: number, ret: number): KvOperation => ({
  clientId,
  op: 'delete',
  input: { key },
  output: {},
  call,
  return: ret,
});
const cas = (
  clientId: number,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean | undefined,
  call: number,
  ret?: number,
): KvOperation => ({
  clientId,
  op: 'cas',
  input: { key, expected, value },
  output: ok === undefined ? undefined : { ok },
  call,
  return: ret,
});

test('sequential history with every operation is linearizable', () => {
  const h = [
    get(1, 'k', null, 0, 1),
    put(1, 'k', 'a', 2, 3),
    get(1, 'k', 'a', 4, 5),
    cas(1, 'k', 'a', 'b', true, 6, 7),
    cas(1, 'k', 'a', 'c', false, 8, 9),
    get(1, 'k', 'b', 10, 11),
    del(1, 'k', 12, 13),
    get(1, 'k', null, 14, 15),
    cas(1, 'k', null, 'd', true, 16, 17),
    get(1, 'k', 'd', 18, 19),
  ];
  assert.equal(checkKvHistory(h).result, 'ok');
});

test('a read concurrent with a write may see either value', () => {
  for (const seen of [null, 'a']) {
    assert.equal(checkKvHistory([put(1, 'k', 'a', 0, 10), get(2, 'k', seen, 5, 6)]).result, 'ok');
  }
});

test('a stale read after a completed write is illegal', () => {
  const r = checkKvHistory([put(1, 'k', 'a', 0, 1), get(2, 'k', null, 2, 3)]);
  assert.equal(r.result, 'illegal');
  assert.equal(r.key, 'k');
});

test('a read of a value nobody wrote is illegal', () => {
  assert.equal(checkKvHistory([put(1, 'k', 'a', 0, 10), get(2, 'k', 'zzz', 1, 2)]).result, 'illegal');
});

test('reads cannot go back in time (new value seen, then old value)', () => {
  const h = [
    put(1, 'k', 'a', 0, 1),
    put(1, 'k', 'b', 2, 100),
    get(2, 'k', 'b', 3, 4),
    get(3, 'k', 'a', 5, 6),
  ];
  assert.equal(checkKvHistory(h).result, 'illegal');
});

test('pending writes may or may not take effect, but once seen they stay', () => {
  assert.equal(checkKvHistory([put(1, 'k', 'a', 0), get(2, 'k', 'a', 5, 6)]).result, 'ok');
  assert.equal(checkKvHistory([put(1, 'k', 'a', 0), get(2, 'k', null, 5, 6)]).result, 'ok');
  assert.equal(
    checkKvHistory([put(1, 'k', 'a', 0), get(2, 'k', 'a', 5, 6), get(2, 'k', null, 7, 8)]).result,
    'illegal',
  );
  // A pending read constrains nothing.
  const pendingRead: KvOperation = { clientId: 3, op: 'get', input: { key: 'k' }, call: 1 };
  assert.equal(checkKvHistory([pendingRead, put(1, 'k', 'a', 0, 2)]).result, 'ok');
});

test('compare-and-set: two concurrent winners of the same swap are illegal; one winner is fine', () => {
  assert.equal(
    checkKvHistory([cas(1, 'k', null, 'a', true, 0, 10), cas(2, 'k', null, 'b', true, 1, 11)]).result,
    'illegal',
  );
  assert.equal(
    checkKvHistory([
      cas(1, 'k', null, 'a', true, 0, 10),
      cas(2, 'k', null, 'b', false, 1, 11),
      get(3, 'k', 'a', 12, 13),
    ]).result,
    'ok',
  );
  // A pending cas that would succeed explains a later read of its value.
  assert.equal(checkKvHistory([cas(1, 'k', null, 'x', undefined, 0), get(2, 'k', 'x', 3, 4)]).result, 'ok');
  // ...but a pending cas whose precondition can never hold cannot.
  assert.equal(
    checkKvHistory([put(3, 'k', 'q', 0, 1), cas(1, 'k', 'nope', 'x', undefined, 2), get(2, 'k', 'x', 3, 4)])
      .result,
    'illegal',
  );
});

test('keys are checked independently and the failing key is named', () => {
  const r = checkKvHistory([
    put(1, 'a', '1', 0, 1),
    get(2, 'a', '1', 2, 3),
    put(1, 'b', '1', 0, 1),
    get(2, 'b', null, 2, 3),
  ]);
  assert.equal(r.result, 'illegal');
  assert.equal(r.key, 'b');
  assert.deepEqual(r.keys, { a: 'ok', b: 'illegal' });
});

/** Histories from a real atomic register: each op takes effect at a random instant inside its interval. */
function generate(seed: number, ops: number, clients: number, keys: number): KvOperation[] {
  const rng = createPrng(seed);
  const store = new Map<string, string>();
  const clientFree = new Array<number>(clients).fill(0);
  const planned: { at: number; o: KvOperation }[] = [];
  for (let i = 0; i < ops; i++) {
    const c = rng.int(0, clients - 1);
    const call = clientFree[c]! + rng.int(0, 5);
    const ret = call + rng.int(1, 30);
    clientFree[c] = ret + 1;
    const key = `k${rng.int(0, keys - 1)}`;
    const kind = rng.pick(['put', 'get', 'get', 'delete', 'cas'] as const);
    const o: KvOperation = { clientId: c, op: kind, input: { key }, call, return: ret };
    if (kind === 'put' || kind === 'cas') o.input.value = `v${i}`;
    planned.push({ at: call + rng.next() * (ret - call), o });
  }
  planned.sort((a, b) => a.at - b.at);
  for (const { o } of planned) {
    const cur = store.get(o.input.key) ?? null;
    if (o.op === 'put') {
      store.set(o.input.key, o.input.value!);
      o.output = {};
    } else if (o.op === 'get') {
      o.output = { value: cur };
    } else if (o.op === 'delete') {
      store.delete(o.input.key);
      o.output = {};
    } else {
      o.input.expected = rng.chance(0.5) ? cur : 'other';
      const ok = cur === o.input.expected;
      if (ok) store.set(o.input.key, o.input.value!);
      o.output = { ok };
    }
  }
  return planned.map((p) => p.o).sort((a, b) => a.call - b.call);
}

test('generated histories of an atomic register are accepted; a corrupted read is rejected', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const h = generate(seed, 300, 6, 3);
    assert.equal(checkKvHistory(h).result, 'ok', `seed ${seed}`);
    const reads = h.filter((o) => o.op === 'get');
    const victim = reads[Math.floor(reads.length / 2)]!;
    victim.output = { value: 'never-written' };
    assert.equal(checkKvHistory(h).result, 'illegal', `seed ${seed} corrupted`);
  }
});

test('a concurrent single-key history (8 clients, 1000 ops) is decided within a small search budget', () => {
  const h = generate(99, 1000, 8, 1);
  // The step bound proves memoisation keeps the search small (without it this is exponential).
  assert.equal(checkKvHistory(h, { maxStepsPerKey: 300_000 }).result, 'ok');
});

test('an exhausted search budget answers unknown, not ok', () => {
  const h = generate(7, 200, 8, 1);
  assert.equal(checkKvHistory(h, { maxStepsPerKey: 10 }).result, 'unknown');
});

test('malformed histories are refused with HistoryError', () => {
  assert.throws(() => checkKvHistory([put(1, 'k', 'a', 5, 2)]), HistoryError);
  assert.throws(
    () => checkKvHistory([{ clientId: 1, op: 'get', input: { key: 'k' }, call: 0, return: 1 }]),
    HistoryError,
  );
  assert.throws(
    () => checkKvHistory([{ clientId: 1, op: 'incr' as 'get', input: { key: 'k' }, call: 0 }]),
    HistoryError,
  );
  assert.throws(
    () => checkKvHistory([{ clientId: 1, op: 'get', input: {} as { key: string }, call: 0 }]),
    HistoryError,
  );
});
