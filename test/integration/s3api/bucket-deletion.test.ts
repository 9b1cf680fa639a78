// The distributed backend's DeleteBucket protocol against a real s3db node (issue #6): a gateway whose
// bucket cache predates a delete and re-create commits nothing into the new bucket, a mark left by a
// DeleteBucket that died is settled by the next reader, and a deletion in progress holds CreateBucket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { STALE_MARK_MS } from '../../../gateway/backend/distributed/bucket-deletion.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES, bucketKey } from '../../../shared/metadata/keys.ts';
import { encodeBucketRecord } from '../../../shared/metadata/records.ts';
import { S3Error } from '../../../gateway/errors.ts';
import { authLines, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';
import type { PreparedCluster } from '../../support/s3d-cluster.ts';

const DB_KEY = { accessKeyId: 'RACETESTDB', secretAccessKey: 'race-test-db-secret' };

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3Error) return error.code;
    throw error;
  }
  return 'ok';
}

const put = (backend: DistributedBackend, bucket: string, key: string, text: string): Promise<unknown> => {
  const body = Buffer.from(text);
  return backend.putObject({
    bucket,
    key,
    body: Readable.from([body]),
    metadata: { contentType: 'text/plain', userMetadata: {} },
    expectedSize: body.length,
  });
};

describe('distributed DeleteBucket protocol (bucket cache, deletion marks)', () => {
  let cluster: PreparedCluster;
  let one: DistributedBackend;
  let two: DistributedBackend;
  let db: S3dbClient;

  before(async () => {
    // s3db only: every object here is small enough to live inline in its record.
    cluster = await prepareCluster({
      prefix: 'pd-bucket-race-',
      portsFrom: 15000,
      dbs: 1,
      nodes: 3,
      rs: { data: 2, parity: 1 },
      dbKey: DB_KEY,
      auth: authLines({ accessKeyId: 'RACETESTKEY', secretAccessKey: 'race-test-secret' }),
    });
    await startMembers(cluster, cluster.dbs);
    const options = { bucketCacheMs: 60_000, dbRetryForMs: 5000 };
    one = await createDistributedBackend(cluster.config, options);
    two = await createDistributedBackend(cluster.config, options);
    const first = cluster.config.db[0]!;
    db = new S3dbClient({
      nodes: [`${first.advertiseHost}:${first.port}`],
      credentials: DB_KEY,
      region: cluster.config.region,
    });
  });
  after(async () => {
    db?.close();
    await one?.close();
    await two?.close();
    await cluster?.stop();
  });

  it('a stale cached bucket never lets a PUT into the re-created bucket', async () => {
    await one.createBucket('reborn', 'alice', 'us-east-1');
    assert.equal((await one.headBucket('reborn', { cached: true })).owner, 'alice'); // cached in `one`
    await two.deleteBucket('reborn');
    await two.createBucket('reborn', 'bob', 'us-east-1');
    // `one` still believes alice owns it ...
    assert.equal((await one.headBucket('reborn', { cached: true })).owner, 'alice');
    // ... but its commit checks the record it believed in.
    assert.equal(await code(put(one, 'reborn', 'k', 'from alice')), 'NoSuchBucket');
    assert.deepEqual(
      (await two.listObjects({ bucket: 'reborn', prefix: '', delimiter: '', after: '', maxKeys: 10 }))
        .contents,
      [],
    );
    // A settings change is the same bucket: the PUT goes through after one refresh.
    await two.updateBucketSettings('reborn', () => ({ versioning: 'Suspended' }));
    await one.headBucket('reborn');
    await two.updateBucketSettings('reborn', () => ({}));
    await put(one, 'reborn', 'k', 'again');
    assert.equal((await two.headObject('reborn', 'k')).size, 5);
  });

  it('a fresh mark (a DeleteBucket checking) holds PUTs and CreateBucket off', async () => {
    await one.createBucket('held', 'alice', 'us-east-1');
    const record = { v: 1 as const, owner: 'alice', created: Date.now(), region: 'us-east-1' };
    await db.batch(
      [],
      [
        { kind: 'delete', table: TABLES.buckets, key: bucketKey('held') },
        {
          kind: 'put',
          table: TABLES.deleting,
          key: bucketKey('held'),
          value: encodeBucketRecord({ ...record, deletingSince: Date.now() }),
        },
      ],
    );
    assert.equal(await code(two.createBucket('held', 'bob', 'us-east-1')), 'OperationAborted');
    assert.equal(await code(two.headBucket('held')), 'NoSuchBucket');
    assert.equal(await code(put(two, 'held', 'k', 'x')), 'NoSuchBucket');
    await db.delete(TABLES.deleting, bucketKey('held'));
  });

  it('an abandoned mark is settled: back with its objects, or gone when empty', async () => {
    for (const [name, withObject] of [
      ['kept', true],
      ['emptied', false],
    ] as const) {
      await one.createBucket(name, 'alice', 'us-east-1');
      if (withObject) await put(one, name, 'k', 'stays');
      const record = { v: 1 as const, owner: 'alice', created: Date.now(), region: 'us-east-1' };
      await db.batch(
        [],
        [
          { kind: 'delete', table: TABLES.buckets, key: bucketKey(name) },
          {
            kind: 'put',
            table: TABLES.deleting,
            key: bucketKey(name),
            value: encodeBucketRecord({ ...record, deletingSince: Date.now() - STALE_MARK_MS - 1 }),
          },
        ],
      );
      if (withObject) {
        assert.equal((await two.headBucket(name)).owner, 'alice');
        assert.equal((await two.headObject(name, 'k')).size, 5);
      } else {
        assert.equal(await code(two.headBucket(name)), 'NoSuchBucket');
        await two.createBucket(name, 'bob', 'us-east-1');
        assert.equal((await one.headBucket(name)).owner, 'bob');
      }
      assert.equal(await db.get(TABLES.deleting, bucketKey(name)), undefined);
    }
  });
});
