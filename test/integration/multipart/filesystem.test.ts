// Multipart upload and copy against a gateway process on the filesystem backend, and a kill -9 of that
// process in the middle of an upload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ACCOUNTS, spawnFilesystemGateway } from '../gateway/harness.ts';
import { defineMultipartSuite } from './multipart-behaviour.ts';

defineMultipartSuite('filesystem', async () => {
  const gateway = await spawnFilesystemGateway();
  return {
    url: gateway.url,
    alice: gateway.client(ACCOUNTS.alice),
    bob: gateway.client(ACCOUNTS.bob),
    aliceReadOnly: gateway.client(ACCOUNTS.aliceReadOnly),
    stop: () => gateway.stop(),
  };
});

describe('multipart upload survives kill -9 of the filesystem gateway', () => {
  it('keeps acknowledged parts: after a restart the upload lists them and completes bit-exact', async () => {
    const first = await spawnFilesystemGateway();
    let second: Awaited<ReturnType<typeof spawnFilesystemGateway>> | undefined;
    try {
      const s3 = first.client(ACCOUNTS.alice);
      await s3.send(new CreateBucketCommand({ Bucket: 'crash-mp' }));
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'crash-mp', Key: 'k' }));
      const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
      const etags: string[] = [];
      for (const [i, body] of parts.entries()) {
        const out = await s3.send(
          new UploadPartCommand({ Bucket: 'crash-mp', Key: 'k', UploadId, PartNumber: i + 1, Body: body }),
        );
        etags.push(out.ETag as string);
      }
      // A third part is being sent when the process dies: it must not appear half-written.
      const dying = s3
        .send(
          new UploadPartCommand({
            Bucket: 'crash-mp',
            Key: 'k',
            UploadId,
            PartNumber: 3,
            Body: Readable.from(
              (async function* () {
                yield randomBytes(1024 * 1024);
                await new Promise((r) => setTimeout(r, 60_000));
              })(),
            ),
            ContentLength: 4 * 1024 * 1024,
          }),
        )
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      await first.kill9();
      await dying;
      second = await spawnFilesystemGateway({ dir: first.dir });
      const again = second.client(ACCOUNTS.alice);
      const listed = await again.send(new ListPartsCommand({ Bucket: 'crash-mp', Key: 'k', UploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
        [
          [1, etags[0], parts[0]?.length],
          [2, etags[1], parts[1]?.length],
        ],
      );
      await again.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'crash-mp',
          Key: 'k',
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      const got = await again.send(new GetObjectCommand({ Bucket: 'crash-mp', Key: 'k' }));
      const bytes = Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      assert.ok(bytes.equals(Buffer.concat(parts)));
    } finally {
      if (second !== undefined) await second.stop();
      else await first.stop();
    }
  });
});
