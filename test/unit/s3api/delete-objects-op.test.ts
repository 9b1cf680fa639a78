// DeleteObjects over a fake backend: bounded concurrency, per-key outcomes, order kept.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deleteObjects } from '../../../gateway/ops/delete-objects.ts';
import type { OperationContext } from '../../../gateway/ops/context.ts';
import type { Backend, BucketInfo } from '../../../gateway/backend/types.ts';
import { InternalError, S3Error } from '../../../gateway/errors.ts';

function fakeContext(deleteObject: (key: string) => Promise<void>): OperationContext {
  const bucket: BucketInfo = { name: 'b', owner: 'acct', created: new Date(0), region: '' };
  const backend = {
    headBucket: async () => bucket,
    deleteObject: async (_bucket: string, key: string) => deleteObject(key),
  } as unknown as Backend;
  return { backend, identity: { accessKeyId: 'AK', accountId: 'acct' }, region: 'us-east-1' };
}

const body = (keys: string[]): string =>
  `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;

describe('DeleteObjects operation', () => {
  it('deletes concurrently with a bound and reports every key in request order', async () => {
    let inFlight = 0;
    let peak = 0;
    const deleted: string[] = [];
    const ctx = fakeContext(async (key) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      if (key === 'k7') throw new S3Error('SlowDown', 'Please reduce your request rate.', 503);
      if (key === 'k8') throw InternalError(new Error('boom'));
      if (key === 'k9') throw new S3Error('NoSuchBucket', 'gone', 404);
      deleted.push(key);
    });
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const { quiet, result } = await deleteObjects(ctx, 'b', body(keys), { allowed: true, concurrency: 4 });
    assert.equal(quiet, false);
    assert.ok(peak <= 4 && peak >= 2, `peak ${peak}`);
    assert.equal(deleted.length, 97);
    assert.deepEqual(
      result.deleted.map((d) => d.key),
      keys.filter((k) => !['k7', 'k8', 'k9'].includes(k)),
    );
    assert.deepEqual(
      result.errors.map((e) => [e.key, e.code]),
      [
        ['k7', 'InternalError'],
        ['k8', 'InternalError'],
        ['k9', 'NoSuchBucket'],
      ],
    );
  });

  it('reports AccessDenied for every key when the caller may not delete, touching nothing', async () => {
    const ctx = fakeContext(async () => assert.fail('must not delete'));
    const { result } = await deleteObjects(ctx, 'b', body(['a', 'b']), { allowed: false });
    assert.deepEqual(
      result.errors.map((e) => [e.key, e.code]),
      [
        ['a', 'AccessDenied'],
        ['b', 'AccessDenied'],
      ],
    );
    assert.equal(result.deleted.length, 0);
  });

  it('refuses another account’s bucket for the whole request', async () => {
    const ctx = fakeContext(async () => undefined);
    const other = { ...ctx, identity: { accessKeyId: 'X', accountId: 'other' } };
    await assert.rejects(deleteObjects(other, 'b', body(['a']), { allowed: true }), (e: unknown) => {
      assert.ok(e instanceof S3Error);
      assert.equal(e.code, 'AccessDenied');
      return true;
    });
  });
});
