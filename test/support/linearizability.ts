// Linearizability checker (Wing & Gong's search with Lowe's memoisation, as in Porcupine) for a key-value model
// with put / get / delete / compare-and-set, partitioned per key (linearizability is compositional).
//
// A history is a list of operations { clientId, op, input, output, call, return }: `call`/`return` are
// timestamps from one clock (e.g. performance.now() or a counter). An operation without `return` is pending
// (the client saw no answer): it may or may not have taken effect, and its output is unknown.
//
// Outputs: get → { value: string | null } (null = not found); cas → { ok: boolean };
// put and delete → anything (ignored). cas input: { key, expected: string | null, value }: sets `value` iff the
// current value equals `expected` (null = key absent).

export type KvOpName = 'put' | 'get' | 'delete' | 'cas';

export interface KvInput {
  key: string;
  /** put / cas: the value written. */
  value?: string;
  /** cas: the value required (null = key must be absent). */
  expected?: string | null;
}

export interface KvOutput {
  /** get: the value read (null = not found). */
  value?: string | null;
  /** cas: whether the swap happened. */
  ok?: boolean;
}

export interface KvOperation {
  clientId: number;
  op: KvOpName;
  input: KvInput;
  /** Absent for a pending operation. */
  output?: KvOutput;
  call: number;
  /** Absent (or null) for a pending operation. */
  return?: number | null;
}

export type CheckResult = 'ok' | 'illegal' | 'unknown';

export interface KvCheckResult {
  result: CheckResult;
  /** The first key whose sub-history is not linearizable (or could not be decided). */
  key?: string;
  /** Per key: the outcome. */
  keys: Record<string, CheckResult>;
}

export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryError';
  }
}

/** A sequential specification. `step` returns the next state if `output` is what the op can produce in `state`. */
export interface Model<S, O> {
  init(): S;
  /** output undefined = pending: any output is acceptable, apply the effect. Returns undefined if impossible. */
  step(state: S, op: O): S | undefined;
  /** A string identifying the state, for memoisation. */
  key(state: S): string;
}

type KvState = string | null;

export const kvModel: Model<KvState, KvOperation> = {
  init: () => null,
  key: (s) => (s === null ? '\u0000' : 'v' + s),
  step(state, o) {
    const pending = o.return === undefined || o.return === null || o.output === undefined;
    switch (o.op) {
      case 'get':
        if (pending) return state;
        return (o.output?.value ?? null) === state ? state : undefined;
      case 'put':
        return o.input.value ?? '';
      case 'delete':
        return null;
      case 'cas': {
        const matches = state === (o.input.expected ?? null);
        if (!pending && o.output?.ok !== matches) return undefined;
        return matches ? (o.input.value ?? '') : state;
      }
    }
  },
};

interface Node {
  /** Operation index; -1 for the list head. */
  id: number;
  isCall: boolean;
  time: number;
  /** For a call: its return node. */
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

function validate(ops: KvOperation[]): void {
  ops.forEach((o, i) => {
    if (!['put', 'get', 'delete', 'cas'].includes(o.op))
      throw new HistoryError(`op ${i}: unknown op ${o.op}`);
    if (typeof o.input?.key !== 'string') throw new HistoryError(`op ${i}: input.key must be a string`);
    if (!Number.isFinite(o.call)) throw new HistoryError(`op ${i}: call must be a finite number`);
    const ret = o.return;
    if (ret !== undefined && ret !== null && (!Number.isFinite(ret) || ret < o.call)) {
      throw new HistoryError(`op ${i}: return ${ret} before call ${o.call}`);
    }
    if (ret !== undefined && ret !== null && o.output === undefined && (o.op === 'get' || o.op === 'cas')) {
      throw new HistoryError(`op ${i}: a completed ${o.op} needs an output`);
    }
  });
}

/** Bitset of linearized operations, keyed for the memo cache. */
class Bits {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/**
 * Decides whether `ops` (one partition) is linearizable with respect to `model`.
 * `maxSteps` bounds the search; when exceeded the answer is 'unknown'.
 */
export function checkOperations<S, O extends { call: number; return?: number | null }>(
  model: Model<S, O>,
  ops: O[],
  maxSteps = 5_000_000,
): CheckResult {
  // Pending reads have no effect and constrain nothing: leave them out. Pending others return at +infinity.
  const events: { time: number; isCall: boolean; id: number }[] = [];
  ops.forEach((o, id) => {
    events.push({ time: o.call, isCall: true, id });
    events.push({ time: o.return ?? Infinity, isCall: false, id });
  });
  // At equal times calls come first: touching operations count as concurrent (the permissive reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node = {
    id: -1,
    isCall: false,
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  const calls = new Map<number, Node>();
  let tail = head;
  for (const ev of events) {
    const node: Node = {
      id: ev.id,
      isCall: ev.isCall,
      time: ev.time,
      match: undefined,
      prev: tail,
      next: undefined,
    };
    tail.next = node;
    tail = node;
    if (ev.isCall) calls.set(ev.id, node);
    else calls.get(ev.id)!.match = node;
  }
  const lift = (call: Node): void => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new Bits(ops.length);
  const cache = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  for (let steps = 0; head.next !== undefined; steps++) {
    if (steps > maxSteps) return 'unknown';
    if (entry === undefined) return 'illegal'; // cannot happen with a well-formed list; kept as a guard
    if (entry.isCall) {
      const next = model.step(state, ops[entry.id]!);
      let advanced = false;
      if (next !== undefined) {
        linearized.set(entry.id);
        const key = linearized.key() + '|' + model.key(next);
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          linearized.clear(entry.id);
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return: the operation it closes was not linearized before it. Backtrack.
      const top = stack.pop();
      if (top === undefined) return 'illegal';
      state = top.state;
      linearized.clear(top.call.id);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return 'ok';
}

/** Checks a key-value history, one key at a time. */
export function checkKvHistory(
  history: KvOperation[],
  options: { maxStepsPerKey?: number } = {},
): KvCheckResult {
  validate(history);
  const byKey = new Map<string, KvOperation[]>();
  for (const o of history) {
    const pendingRead = o.op === 'get' && (o.return === undefined || o.return === null);
    if (pendingRead) continue;
    let list = byKey.get(o.input.key);
    if (list === undefined) byKey.set(o.input.key, (list = []));
    list.push(o);
  }
  const keys: Record<string, CheckResult> = {};
  let result: CheckResult = 'ok';
  let failedKey: string | undefined;
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const r = checkOperations(kvModel, ops, options.maxStepsPerKey);
    keys[key] = r;
    if (r === 'illegal' && result !== 'illegal') {
      result = 'illegal';
      failedKey = key;
    } else if (r === 'unknown' && result === 'ok') {
      result = 'unknown';
      failedKey = key;
    }
  }
  return failedKey === undefined ? { result, keys } : { result, key: failedKey, keys };
}
