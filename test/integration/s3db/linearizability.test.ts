import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3dbClientError } from '../../../shared/s3db-client/index.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { checkKvHistory } from '../../support/linearizability.ts';
import type { KvOperation } from '../../support/linearizability.ts';
import { ProcessCluster } from './harness.ts';

const KEYS = ['a', 'b', 'c'];
const TABLE = 'lin';
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const dec = (b: Uint8Array): string => Buffer.from(b).toString();

/** One client's random operation, recorded as invoke/return. Definitely-failed writes are dropped, unknown ones stay pending. */
async function step(client: S3dbClient, clientId: number, n: number, history: KvOperation[]): Promise<void> {
  const key = KEYS[Math.floor(Math.random() * KEYS.length)]!;
  const r = Math.random();
  const value = `c${clientId}-${n}`;
  const op: KvOperation =
    r < 0.35
      ? { clientId, op: 'get', input: { key }, call: performance.now() }
      : r < 0.65
        ? { clientId, op: 'put', input: { key, value }, call: performance.now() }
        : r < 0.75
          ? { clientId, op: 'delete', input: { key }, call: performance.now() }
          : {
              clientId,
              op: 'cas',
              input: {
                key,
                value,
                expected:
                  Math.random() < 0.3
                    ? null
                    : `c${Math.floor(Math.random() * 6)}-${Math.max(0, n - 1 - Math.floor(Math.random() * 3))}`,
              },
              call: performance.now(),
            };
  history.push(op);
  try {
    if (op.op === 'get') {
      const v = await client.get(TABLE, key);
      op.output = { value: v ? dec(v.value) : null };
    } else if (op.op === 'put') {
      await client.put(TABLE, key, enc(value));
      op.output = {};
    } else if (op.op === 'delete') {
      await client.delete(TABLE, key);
      op.output = {};
    } else {
      const expected = op.input.expected ?? null;
      const res = await client.batch(
        [
          expected === null
            ? { kind: 'absent', table: TABLE, key }
            : { kind: 'valueEquals', table: TABLE, key, value: enc(expected) },
        ],
        [{ kind: 'put', table: TABLE, key, value: enc(value) }],
      );
      op.output = { ok: res.ok };
    }
    op.return = performance.now();
  } catch (e) {
    // A read that failed, or a write that certainly did not happen, is no part of the history.
    if (op.op === 'get' || (e instanceof S3dbClientError && e.notApplied))
      history.splice(history.indexOf(op), 1);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('concurrent client histories against 3 processes with kill -9 / restart of the leader and a follower are linearizable', async (t) => {
  const cluster = await ProcessCluster.create(process.pid + 23, [1, 2, 3]);
  const clients: S3dbClient[] = [];
  try {
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    await cluster.leaderId();
    const history: KvOperation[] = [];
    let running = true;
    const workers = Array.from({ length: 6 }, async (_, clientId) => {
      // Each client sticks to one node and never retries a write whose outcome is unknown.
      const client = cluster.client([(clientId % 3) + 1, 1, 2, 3], {
        retryAmbiguousWrites: false,
        retryForMs: 4000,
        attemptTimeoutMs: 4000,
      });
      clients.push(client);
      for (let n = 0; running && n < 100_000; n++) await step(client, clientId, n, history);
    });
    const faults = (async () => {
      for (const victim of ['leader', 'follower', 'leader'] as const) {
        await new Promise((r) => setTimeout(r, 1500));
        const leader = await cluster.leaderId();
        const id = victim === 'leader' ? leader : [1, 2, 3].find((x) => x !== leader)!;
        await cluster.kill(id);
        t.diagnostic(`killed ${victim} ${id}`);
        await new Promise((r) => setTimeout(r, 1500));
        await cluster.start(id);
      }
      await new Promise((r) => setTimeout(r, 1500));
    })();
    await faults;
    running = false;
    await Promise.all(workers);
    const completed = history.filter((o) => o.return !== undefined).length;
    t.diagnostic(
      `${history.length} operations, ${completed} completed, ${history.length - completed} with unknown outcome`,
    );
    assert.ok(completed > 100, 'enough operations completed to make the check meaningful');
    const result = checkKvHistory(history);
    assert.equal(
      result.result,
      'ok',
      `history not linearizable at key ${result.key}: ${JSON.stringify(result.keys)}`,
    );
  } finally {
    for (const c of clients) c.close();
    await cluster.destroy();
  }
});
