import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_TABLE,
  RING_KEY,
  RingChangeError,
  RingSource,
  activeNodes,
  applyRingChange,
  decodeRingRecord,
  encodeRingRecord,
  ensureRing,
  initialRing,
  placementRing,
  planRingChange,
  writeScheme,
} from '../../../shared/cluster/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { FakeDb } from './fakes.ts';

const RS21 = { k: 2, m: 1 };
const config = (ids: number[], rs = { data: 2, parity: 1 }): Pick<ClusterConfig, 'nodes' | 'ring' | 'rs'> =>
  ({
    nodes: ids.map((id) => ({ id, host: '127.0.0.1', port: 1, advertiseHost: '127.0.0.1', path: '/x' })),
    ring: { vnodes: 16 },
    rs,
  }) as Pick<ClusterConfig, 'nodes' | 'ring' | 'rs'>;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof RingChangeError ? error.code : `other: ${String(error)}`;
  }
  return undefined;
}

describe('ring record', () => {
  it('starts at epoch 0 with every configured node active, sorted, and round-trips', () => {
    const r = initialRing(['3', '1', '2', '1'], 16, 5);
    assert.equal(r.epoch, 0);
    assert.deepEqual(activeNodes(r), ['1', '2', '3']);
    assert.deepEqual(decodeRingRecord(encodeRingRecord(r)), r);
    assert.equal(placementRing(r).epoch, 0);
    assert.deepEqual(writeScheme(r, RS21), RS21);
  });

  it('rejects damaged records with a typed error', () => {
    assert.equal(
      code(() => decodeRingRecord(Buffer.from('{'))),
      'BAD_RECORD',
    );
    const r = initialRing(['1'], 16, 0);
    const dup = { ...r, nodes: [...r.nodes, ...r.nodes] };
    assert.equal(
      code(() => decodeRingRecord(Buffer.from(JSON.stringify(dup)))),
      'BAD_RECORD',
    );
    const none = { ...r, nodes: r.nodes.map((n) => ({ ...n, state: 'removed' })) };
    assert.equal(
      code(() => decodeRingRecord(Buffer.from(JSON.stringify(none)))),
      'BAD_RECORD',
    );
  });

  it('adding a node bumps the epoch; a draining node leaves placement; removal needs draining first', () => {
    const r0 = initialRing(['1', '2', '3', '4'], 16, 0);
    const r1 = planRingChange(r0, { kind: 'add', nodes: ['5'] }, RS21, 10);
    assert.equal(r1.epoch, 1);
    assert.deepEqual(activeNodes(r1), ['1', '2', '3', '4', '5']);
    assert.equal(
      code(() => planRingChange(r1, { kind: 'add', nodes: ['5'] }, RS21)),
      'ALREADY_MEMBER',
    );
    assert.equal(
      code(() => planRingChange(r1, { kind: 'remove', node: '2' }, RS21)),
      'NOT_DRAINING',
    );
    const r2 = planRingChange(r1, { kind: 'drain', node: '2' }, RS21, 20);
    assert.equal(r2.epoch, 2);
    assert.ok(!placementRing(r2).nodes.includes('2'));
    assert.equal(
      code(() => planRingChange(r2, { kind: 'drain', node: '2' }, RS21)),
      'NOT_ACTIVE',
    );
    const r3 = planRingChange(r2, { kind: 'remove', node: '2' }, RS21, 30);
    assert.equal(r3.epoch, 2, 'removing a drained node does not change placement');
    assert.equal(r3.nodes.find((n) => n.id === '2')?.state, 'removed');
    assert.equal(
      code(() => planRingChange(r3, { kind: 'drain', node: '9' }, RS21)),
      'UNKNOWN_NODE',
    );
  });

  it('never leaves fewer active nodes than the scheme is wide', () => {
    const r0 = initialRing(['1', '2', '3'], 16, 0);
    assert.equal(
      code(() => planRingChange(r0, { kind: 'drain', node: '1' }, RS21)),
      'TOO_FEW_NODES',
    );
    assert.equal(
      code(() => planRingChange(r0, { kind: 'set-rs', k: 3, m: 2 }, RS21)),
      'TOO_FEW_NODES',
    );
    assert.equal(
      code(() => planRingChange(r0, { kind: 'set-rs', k: 2, m: 0 }, RS21)),
      'BAD_SCHEME',
    );
    const r1 = planRingChange(r0, { kind: 'set-rs', k: 1, m: 1 }, RS21);
    assert.deepEqual(writeScheme(r1, RS21), { k: 1, m: 1 });
    assert.equal(r1.epoch, 0, 'a scheme change keeps the epoch');
  });
});

describe('ring store (compare-and-set in s3db)', () => {
  it('creates the ring from the config once and applies changes by CAS', async () => {
    const db = new FakeDb();
    const a = await ensureRing(db, config([1, 2, 3, 4]));
    const b = await ensureRing(db, config([1, 2, 3, 4, 5]));
    assert.deepEqual(b.record, a.record, 'the stored ring wins over a later config');
    const changed = await applyRingChange(db, config([1, 2, 3, 4, 5]), { kind: 'add', nodes: ['5'] });
    assert.equal(changed.record.epoch, 1);
    assert.equal(decodeRingRecord((await db.get(CLUSTER_TABLE, RING_KEY))!.value).epoch, 1);
  });

  it('re-plans when another writer changed the ring between read and write', async () => {
    const db = new FakeDb();
    await ensureRing(db, config([1, 2, 3, 4, 5]));
    // A concurrent drain of node 5 lands just before our batch: our add of... node 4's drain re-plans on top.
    db.beforeBatch = () => {
      const stored = decodeRingRecord(
        db.tables.get(CLUSTER_TABLE)!.get(Buffer.from(RING_KEY).toString('hex'))!.value,
      );
      void db.put(
        CLUSTER_TABLE,
        RING_KEY,
        encodeRingRecord(planRingChange(stored, { kind: 'drain', node: '5' }, RS21)),
      );
    };
    const out = await applyRingChange(db, config([1, 2, 3, 4, 5]), { kind: 'drain', node: '4' });
    assert.equal(out.record.epoch, 2);
    assert.deepEqual(activeNodes(out.record), ['1', '2', '3']);
  });

  it('RingSource loads lazily, keeps the ring between refreshes and follows changes', async () => {
    const db = new FakeDb();
    const source = new RingSource(db, config([1, 2, 3, 4, 5]), { refreshMs: 1000 });
    const first = await source.current(0);
    assert.equal(first.ring.epoch, 0);
    assert.deepEqual(first.rs, RS21);
    await applyRingChange(db, config([1, 2, 3, 4, 5]), { kind: 'set-rs', k: 3, m: 2 });
    assert.equal(await source.current(1), first, 'within refreshMs the cached ring is returned');
    const fresh = await source.refresh();
    assert.deepEqual(fresh.rs, { k: 3, m: 2 });
    assert.equal(await source.current(), fresh);
  });

  it('RingSource re-reads a stale ring before use and keeps the last one when s3db fails', async () => {
    const db = new FakeDb();
    const source = new RingSource(db, config([1, 2, 3, 4, 5]), { refreshMs: 1000 });
    const first = await source.current();
    await applyRingChange(db, config([1, 2, 3, 4, 5]), { kind: 'drain', node: '5' });
    const later = await source.current(Date.now() + 2000);
    assert.equal(later.ring.epoch, 1);
    assert.notEqual(later, first);
    const errors: unknown[] = [];
    const failing = new RingSource(
      { get: () => Promise.reject(new Error('s3db down')), batch: db.batch.bind(db) },
      config([1, 2, 3, 4, 5]),
      { refreshMs: 1000, onError: (e) => errors.push(e) },
    );
    await assert.rejects(failing.current(), /s3db down/, 'no ring known yet: the caller sees the error');
    const working = new RingSource(db, config([1, 2, 3, 4, 5]), {
      refreshMs: 1000,
      onError: (e) => errors.push(e),
    });
    const known = await working.current();
    db.get = () => Promise.reject(new Error('s3db down'));
    assert.equal(await working.current(Date.now() + 5000), known);
    assert.equal(errors.length, 1);
  });
});
