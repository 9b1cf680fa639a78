// DeleteBucket racing PutObject (issue #6): whatever the interleaving, an acknowledged PUT is never in
// a deleted bucket, and a bucket deleted and created again holds nothing of its first life.
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

interface Outcome {
  ok: boolean;
  status?: number;
  code?: string;
}

async function outcome(promise: Promise<unknown>): Promise<Outcome> {
  try {
    await promise;
    return { ok: true };
  } catch (caught) {
    const e = caught as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return {
      ok: false,
      ...(e.$metadata?.httpStatusCode === undefined ? {} : { status: e.$metadata.httpStatusCode }),
      code: e.Code ?? e.name ?? String(caught),
    };
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RaceTally {
  deleted: number;
  notEmpty: number;
  ackedPuts: number;
}

/**
 * `rounds` times: an empty bucket, `puts` PUTs started at random within `jitterMs`, and one
 * DeleteBucket whose start moves towards the boundary between the two histories (later after it
 * won, earlier after it lost), where the race is tightest. Checks every outcome against them.
 */
export async function raceDeleteBucketAgainstPuts(
  s3: S3Client,
  prefix: string,
  options: { rounds: number; puts: number; jitterMs: number; seed: number },
): Promise<RaceTally> {
  const tally: RaceTally = { deleted: 0, notEmpty: 0, ackedPuts: 0 };
  let seed = options.seed;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  let deleteAt = options.jitterMs / 2;
  let step = options.jitterMs / 2;
  for (let round = 0; round < options.rounds; round++) {
    const Bucket = `${prefix}-${round}`;
    await s3.send(new CreateBucketCommand({ Bucket }));
    const body = (i: number): string => `round ${round} put ${i}`;
    const puts = Array.from({ length: options.puts }, (_, i) =>
      pause(random() * options.jitterMs).then(() =>
        outcome(s3.send(new PutObjectCommand({ Bucket, Key: `k${i}`, Body: body(i) }))),
      ),
    );
    const del = pause(deleteAt).then(() => outcome(s3.send(new DeleteBucketCommand({ Bucket }))));
    const [putResults, delResult] = await Promise.all([Promise.all(puts), del]);
    const acked = putResults.flatMap((r, i) => (r.ok ? [i] : []));
    tally.ackedPuts += acked.length;
    for (const r of putResults)
      if (!r.ok) assert.equal(r.code, 'NoSuchBucket', `round ${round}: a PUT failed with ${r.code}`);

    deleteAt = Math.max(0, deleteAt + (delResult.ok ? step : -step));
    step = Math.max(step / 2, options.jitterMs / 16);
    if (delResult.ok) {
      tally.deleted++;
      assert.deepEqual(
        acked,
        [],
        `round ${round}: PUTs ${acked.join(',')} acknowledged into a deleted bucket`,
      );
      const head = await outcome(s3.send(new HeadBucketCommand({ Bucket })));
      assert.equal(head.status, 404, `round ${round}: the deleted bucket still answers HeadBucket`);
      await s3.send(new CreateBucketCommand({ Bucket }));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
      assert.equal(listed.KeyCount ?? 0, 0, `round ${round}: the re-created bucket holds old objects`);
    } else {
      tally.notEmpty++;
      assert.equal(
        delResult.code,
        'BucketNotEmpty',
        `round ${round}: DeleteBucket failed with ${delResult.code}`,
      );
      assert.ok(acked.length > 0, `round ${round}: BucketNotEmpty but no PUT was acknowledged`);
      for (const i of acked) {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key: `k${i}` }));
        assert.equal(await got.Body?.transformToString(), body(i));
      }
      for (const i of acked) await s3.send(new DeleteObjectCommand({ Bucket, Key: `k${i}` }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket }));
  }
  return tally;
}
