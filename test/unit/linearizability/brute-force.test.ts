// Cross-check the checker against an exhaustive search on small random histories (legal and illegal ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKvHistory, type KvOperation } from '../../support/linearizability.ts';
import { createPrng, type Prng } from '../../sim/prng.ts';

const isPending = (o: KvOperation) => o.return === undefined || o.return === null;

/** An independent sequential spec (not the checker's model): the register after `o`, or undefined if impossible. */
function apply(state: string | null, o: KvOperation): string | null | undefined {
  const known = !isPending(o);
  if (o.op === 'get') return !known || o.output!.value === state ? state : undefined;
  if (o.op === 'put') return o.input.value!;
  if (o.op === 'delete') return null;
  const swapped = state === o.input.expected;
  if (known && o.output!.ok !== swapped) return undefined;
  return swapped ? o.input.value! : state;
}

/** Tries every order that respects real time, with every subset of pending operations left out. */
function bruteForce(ops: KvOperation[]): boolean {
  const n = ops.length;
  const before = (a: KvOperation, b: KvOperation) => !isPending(a) && a.return! < b.call;
  const used = new Array<boolean>(n).fill(false);
  const search = (state: string | null, placed: number, skipped: Set<number>): boolean => {
    if (placed + skipped.size === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i] || skipped.has(i)) continue;
      // i can go next only if no unplaced completed op must precede it
      let blocked = false;
      for (let j = 0; j < n && !blocked; j++) {
        if (j !== i && !used[j] && !skipped.has(j) && before(ops[j]!, ops[i]!)) blocked = true;
      }
      if (blocked) continue;
      const next = apply(state, ops[i]!);
      if (next !== undefined) {
        used[i] = true;
        if (search(next, placed + 1, skipped)) return true;
        used[i] = false;
      }
    }
    // or leave out a pending operation (it never took effect)
    for (let i = 0; i < n; i++) {
      if (!used[i] && !skipped.has(i) && isPending(ops[i]!)) {
        const s = new Set(skipped).add(i);
        if (search(state, placed, s)) return true;
      }
    }
    return false;
  };
  return search(null, 0, new Set());
}

function randomHistory(rng: Prng, size: number): KvOperation[] {
  const values = ['a', 'b'];
  const ops: KvOperation[] = [];
  for (let i = 0; i < size; i++) {
    const call = rng.int(0, 10);
    const pending = rng.chance(0.15);
    const ret = pending ? undefined : call + rng.int(0, 6);
    const kind = rng.pick(['put', 'get', 'get', 'delete', 'cas'] as const);
    const o: KvOperation = { clientId: i, op: kind, input: { key: 'k' }, call, return: ret };
    if (kind === 'put') o.input.value = rng.pick(values);
    if (kind === 'cas') {
      o.input.expected = rng.pick([null, ...values]);
      o.input.value = rng.pick(values);
    }
    if (!pending) {
      if (kind === 'get') o.output = { value: rng.pick([null, ...values]) };
      else if (kind === 'cas') o.output = { ok: rng.chance(0.5) };
      else o.output = {};
    }
    ops.push(o);
  }
  return ops;
}

test('agrees with exhaustive search on 3000 small random histories', () => {
  const rng = createPrng(2026);
  let legal = 0;
  let illegal = 0;
  for (let i = 0; i < 3000; i++) {
    const h = randomHistory(rng, rng.int(1, 6));
    const expected = bruteForce(h);
    const got = checkKvHistory(h).result;
    assert.equal(got, expected ? 'ok' : 'illegal', JSON.stringify(h));
    if (expected) legal++;
    else illegal++;
  }
  // Both outcomes must be well represented, or the comparison proves little.
  assert.ok(legal > 300 && illegal > 300, `legal ${legal}, illegal ${illegal}`);
});
