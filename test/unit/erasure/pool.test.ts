import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErasureError, RS_3_2, StripePool } from '../../../shared/erasure/index.ts';

test('the pool sizes buffers for the scheme and reuses them', () => {
  const pool = new StripePool(RS_3_2, 2, 1024);
  const a = pool.tryAcquire();
  assert.ok(a);
  assert.equal(a.data.length, 3 * 1024);
  assert.equal(a.parity.length, 2 * 1024);
  pool.release(a);
  assert.equal(pool.tryAcquire(), a);
  assert.equal(pool.inUse, 1);
});

test('acquire waits while every buffer is lent out, and waiters are served in order', async () => {
  const pool = new StripePool(RS_3_2, 2, 64);
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.equal(pool.tryAcquire(), undefined);
  const order: string[] = [];
  const first = pool.acquire().then((s) => (order.push('first'), s));
  const second = pool.acquire().then((s) => (order.push('second'), s));
  await Promise.resolve();
  assert.deepEqual(order, []);
  pool.release(b);
  assert.equal(await first, b);
  pool.release(a);
  assert.equal(await second, a);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(pool.inUse, 2);
});

test('releasing a foreign or already released buffer is an error', () => {
  const pool = new StripePool(RS_3_2, 1, 64);
  const a = pool.tryAcquire();
  assert.ok(a);
  pool.release(a);
  const misuse = (e: unknown) => e instanceof ErasureError && e.code === 'POOL_MISUSE';
  assert.throws(() => pool.release(a), misuse);
  assert.throws(() => pool.release({ data: Buffer.alloc(192), parity: Buffer.alloc(128) }), misuse);
  assert.throws(() => new StripePool(RS_3_2, 0), misuse);
  assert.throws(
    () => new StripePool(RS_3_2, 1, 12),
    (e: unknown) => e instanceof ErasureError && e.code === 'BAD_SEGMENT_LENGTH',
  );
});

test('an aborted wait gives up without taking a buffer', async () => {
  const pool = new StripePool(RS_3_2, 1, 64);
  const a = pool.tryAcquire();
  assert.ok(a);
  const controller = new AbortController();
  const waiting = pool.acquire(controller.signal);
  const next = pool.acquire();
  controller.abort();
  await assert.rejects(waiting, (e: unknown) => e instanceof ErasureError && e.code === 'ABORTED');
  pool.release(a);
  assert.equal(await next, a, 'the buffer goes to the next waiter');
  await assert.rejects(
    pool.acquire(controller.signal),
    (e: unknown) => e instanceof ErasureError && e.code === 'ABORTED',
  );
});
