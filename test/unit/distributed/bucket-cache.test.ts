import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BucketCache, sameIncarnation } from '../../../gateway/backend/distributed/bucket-cache.ts';
import type { BucketInfo } from '../../../gateway/backend/types.ts';

const info = (owner: string, created: number): BucketInfo => ({
  name: 'b',
  owner,
  created: new Date(created),
  region: 'us-east-1',
});

describe('bucket cache', () => {
  it('answers within its age and forgets after it', () => {
    const cache = new BucketCache(1000);
    cache.set('b', { info: info('a', 1), version: 7, at: 5000 });
    assert.equal(cache.get('b', 5999)?.version, 7);
    assert.equal(cache.get('b', 6000), undefined);
    assert.equal(cache.size, 0);
  });

  it('keeps nothing when its age is 0, and forgets on request', () => {
    const off = new BucketCache(0);
    off.set('b', { info: info('a', 1), version: 1, at: 0 });
    assert.equal(off.get('b', 0), undefined);
    const cache = new BucketCache(1000);
    cache.set('b', { info: info('a', 1), version: 1, at: 0 });
    cache.forget('b');
    assert.equal(cache.get('b', 1), undefined);
  });

  it('is bounded: the oldest entry goes first', () => {
    const cache = new BucketCache(1000, 2);
    cache.set('x', { info: info('a', 1), version: 1, at: 0 });
    cache.set('y', { info: info('a', 1), version: 2, at: 0 });
    cache.set('z', { info: info('a', 1), version: 3, at: 0 });
    assert.equal(cache.size, 2);
    assert.equal(cache.get('x', 1), undefined);
    assert.equal(cache.get('z', 1)?.version, 3);
  });

  it('tells a re-created bucket from a changed one', () => {
    assert.ok(sameIncarnation(info('a', 1), { ...info('a', 1), cors: [] }));
    assert.ok(!sameIncarnation(info('a', 1), info('a', 2)));
    assert.ok(!sameIncarnation(info('a', 1), info('b', 1)));
  });
});
