// Multipart upload and copy with the pinned AWS SDK against a real gateway; run against both backends
// (filesystem.test.ts, distributed.test.ts). The distributed target can also collect garbage and count
// the shards on the appliances, so aborted, replaced and unused parts are checked to leave nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

export interface MultipartTarget {
  url: string;
  alice: S3Client;
  /** Another account. */
  bob: S3Client;
  /** Account of alice, read-only policy. */
  aliceReadOnly: S3Client;
  /** Distributed only: shard accounting. */
  shards?: {
    /** Runs the garbage worker until no garbage record is left. */
    collect(): Promise<void>;
    /** Shards stored on all appliances. */
    live(): Promise<number>;
    /** Shards per chunk (k + m). */
    shardsPerChunk: number;
    /** Object bytes per full chunk. */
    chunkBytes: number;
  };
  /** Also copy an object larger than one chunk (distributed). */
  bigCopyBytes?: number;
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;
const md5Hex = (data: Buffer): string => createHash('md5').update(data).digest('hex');
const quoted = (data: Buffer): string => `"${md5Hex(data)}"`;

function multipartEtag(parts: Buffer[]): string {
  const hash = createHash('md5');
  for (const part of parts) hash.update(createHash('md5').update(part).digest());
  return `"${hash.digest('hex')}-${parts.length}"`;
}

interface SdkError {
  name: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

async function expectS3Error(promise: Promise<unknown>, status: number, code?: string): Promise<void> {
  try {
    await promise;
  } catch (caught) {
    const error = caught as SdkError;
    assert.equal(error.$metadata?.httpStatusCode, status, `expected HTTP ${status}, got ${String(caught)}`);
    if (code !== undefined) assert.equal(error.Code ?? error.name, code);
    return;
  }
  assert.fail(`expected an S3 error ${status} ${code ?? ''}`);
}

async function bytesOf(body: unknown): Promise<Buffer> {
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export function defineMultipartSuite(name: string, start: () => Promise<MultipartTarget>): void {
  describe(`multipart upload and copy (${name} backend)`, () => {
    let t: MultipartTarget;
    let s3: S3Client;
    const B = 'mp-bucket';

    before(async () => {
      t = await start();
      s3 = t.alice;
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new CreateBucketCommand({ Bucket: 'mp-other' }));
    });
    after(async () => {
      await t?.stop();
    });

    async function create(key: string, extra: Record<string, unknown> = {}): Promise<string> {
      const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key, ...extra }));
      assert.equal(out.Bucket, B);
      assert.equal(out.Key, key);
      return out.UploadId as string;
    }

    async function upload(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
      const out = await s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
      );
      assert.equal(out.ETag, quoted(body));
      return out.ETag as string;
    }

    async function complete(
      key: string,
      uploadId: string,
      parts: { PartNumber: number; ETag: string }[],
    ): Promise<{ ETag?: string; Location?: string; Bucket?: string; Key?: string }> {
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    }

    async function get(key: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
      return bytesOf((await s3.send(new GetObjectCommand({ Bucket: B, Key: key, ...extra }))).Body);
    }

    it('completes a 3-part upload bit-exact: ETag -3, metadata, ranges across parts, ?partNumber', async () => {
      const key = 'big/three parts.bin';
      const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(123_457)];
      const whole = Buffer.concat(parts);
      const uploadId = await create(key, { ContentType: 'text/x-test', Metadata: { color: 'blue' } });
      // Uploaded out of order and concurrently: the part number decides the position.
      const etags = await Promise.all([
        upload(key, uploadId, 2, parts[1] as Buffer),
        upload(key, uploadId, 1, parts[0] as Buffer),
        upload(key, uploadId, 3, parts[2] as Buffer),
      ]);
      const listed = await s3.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
        [
          [1, 5 * MiB, etags[1]],
          [2, 5 * MiB, etags[0]],
          [3, 123_457, etags[2]],
        ],
      );
      const done = await complete(key, uploadId, [
        { PartNumber: 1, ETag: etags[1] as string },
        { PartNumber: 2, ETag: etags[0] as string },
        { PartNumber: 3, ETag: etags[2] as string },
      ]);
      assert.equal(done.ETag, multipartEtag(parts));
      assert.equal(done.Bucket, B);
      assert.equal(done.Key, key);
      assert.match(done.Location ?? '', /\/mp-bucket\/big\/three%20parts\.bin$/);

      assert.equal(md5Hex(await get(key)), md5Hex(whole));
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key }));
      assert.equal(head.ContentLength, whole.length);
      assert.equal(head.ETag, multipartEtag(parts));
      assert.equal(head.ContentType, 'text/x-test');
      assert.deepEqual(head.Metadata, { color: 'blue' });
      for (const [from, to] of [
        [5 * MiB - 100, 5 * MiB + 99],
        [10 * MiB - 7, 10 * MiB + 7],
        [3, whole.length - 4],
        [whole.length - 1, whole.length - 1],
      ] as const)
        assert.ok(
          (await get(key, { Range: `bytes=${from}-${to}` })).equals(whole.subarray(from, to + 1)),
          `range ${from}-${to}`,
        );

      const part2 = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key, PartNumber: 2 }));
      assert.equal(part2.ContentLength, 5 * MiB);
      assert.equal(part2.PartsCount, 3);
      assert.equal(part2.ETag, multipartEtag(parts));
      assert.equal(part2.ContentRange, `bytes ${5 * MiB}-${10 * MiB - 1}/${whole.length}`);
      assert.ok((await get(key, { PartNumber: 3 })).equals(parts[2] as Buffer));
      await expectS3Error(get(key, { PartNumber: 4 }), 416, 'InvalidPartNumber');
      // A single-PUT object is its own part 1 (206, Content-Range, no parts count).
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'single', Body: 'just one part' }));
      const single = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'single', PartNumber: 1 }));
      assert.equal(single.ContentRange, 'bytes 0-12/13');
      assert.equal(single.PartsCount, undefined);
      await expectS3Error(get('single', { PartNumber: 2 }), 416, 'InvalidPartNumber');

      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
      assert.equal(
        uploads.Uploads?.find((u) => u.UploadId === uploadId),
        undefined,
      );
      await expectS3Error(
        s3.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploadId })),
        404,
        'NoSuchUpload',
      );
    });

    it('refuses bad completions (order, ETag, size) and changes nothing; bad part numbers and digests', async () => {
      const key = 'refused';
      const uploadId = await create(key);
      const a = randomBytes(100);
      const b = randomBytes(200);
      const ea = await upload(key, uploadId, 1, a);
      const eb = await upload(key, uploadId, 2, b);
      await expectS3Error(
        complete(key, uploadId, [
          { PartNumber: 2, ETag: eb },
          { PartNumber: 1, ETag: ea },
        ]),
        400,
        'InvalidPartOrder',
      );
      await expectS3Error(
        complete(key, uploadId, [
          { PartNumber: 1, ETag: quoted(b) },
          { PartNumber: 2, ETag: eb },
        ]),
        400,
        'InvalidPart',
      );
      await expectS3Error(complete(key, uploadId, [{ PartNumber: 7, ETag: ea }]), 400, 'InvalidPart');
      await expectS3Error(
        complete(key, uploadId, [
          { PartNumber: 1, ETag: ea },
          { PartNumber: 2, ETag: eb },
        ]),
        400,
        'EntityTooSmall',
      );
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: B, Key: key })), 404);
      const listed = await s3.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => p.PartNumber),
        [1, 2],
      );
      for (const partNumber of [0, 10_001])
        await expectS3Error(
          s3.send(
            new UploadPartCommand({
              Bucket: B,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: a,
            }),
          ),
          400,
          'InvalidArgument',
        );
      await expectS3Error(
        s3.send(
          new UploadPartCommand({
            Bucket: B,
            Key: key,
            UploadId: uploadId,
            PartNumber: 3,
            Body: a,
            ContentMD5: createHash('md5').update(b).digest('base64'),
          }),
        ),
        400,
        'BadDigest',
      );
      // The upload is intact: the last part alone may be small.
      const done = await complete(key, uploadId, [{ PartNumber: 2, ETag: eb }]);
      assert.equal(done.ETag, multipartEtag([b]));
      assert.ok((await get(key)).equals(b));
      await expectS3Error(
        s3.send(
          new UploadPartCommand({ Bucket: B, Key: key, UploadId: 'not-an-upload', PartNumber: 1, Body: a }),
        ),
        404,
        'NoSuchUpload',
      );
    });

    it('aborts: NoSuchUpload afterwards, and the parts are collected', async () => {
      await t.shards?.collect();
      const before = await t.shards?.live();
      const key = 'aborted';
      const uploadId = await create(key);
      await upload(key, uploadId, 1, randomBytes(5 * MiB));
      await upload(key, uploadId, 2, randomBytes(1000));
      if (t.shards !== undefined) assert.ok((await t.shards.live()) > (before as number));
      await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: uploadId }));
      await expectS3Error(
        s3.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploadId })),
        404,
        'NoSuchUpload',
      );
      await expectS3Error(
        s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId: uploadId, PartNumber: 3, Body: 'x' })),
        404,
        'NoSuchUpload',
      );
      await expectS3Error(complete(key, uploadId, [{ PartNumber: 2, ETag: '"x"' }]), 404, 'NoSuchUpload');
      await expectS3Error(
        s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: uploadId })),
        404,
        'NoSuchUpload',
      );
      if (t.shards !== undefined) {
        await t.shards.collect();
        assert.equal(await t.shards.live(), before);
      }
    });

    it('same part number twice: the last upload wins and nothing is left of the first', async () => {
      await t.shards?.collect();
      const before = await t.shards?.live();
      const key = 'twice';
      const uploadId = await create(key);
      await upload(key, uploadId, 1, randomBytes(3000));
      const second = randomBytes(4000);
      const e2 = await upload(key, uploadId, 1, second);
      const listed = await s3.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
        [[1, e2, 4000]],
      );
      await complete(key, uploadId, [{ PartNumber: 1, ETag: e2 }]);
      assert.ok((await get(key)).equals(second));
      if (t.shards !== undefined) {
        await t.shards.collect();
        const chunks = Math.ceil(second.length / t.shards.chunkBytes);
        assert.equal(await t.shards.live(), (before as number) + chunks * t.shards.shardsPerChunk);
        // Superseding a multipart object collects its parts' shards.
        await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'plain' }));
        await s3.send(new DeleteObjectCommand({ Bucket: B, Key: key }));
        await t.shards.collect();
        assert.equal(await t.shards.live(), before);
      }
    });

    it('paginates ListParts and ListMultipartUploads (markers, prefix, delimiter)', async () => {
      const key = 'paged';
      const uploadId = await create(key);
      for (const n of [1, 2, 3, 5, 8]) await upload(key, uploadId, n, Buffer.from(`part ${n}`));
      const pages: number[][] = [];
      let marker: string | undefined;
      for (let i = 0; i < 5; i++) {
        const page = await s3.send(
          new ListPartsCommand({
            Bucket: B,
            Key: key,
            UploadId: uploadId,
            MaxParts: 2,
            ...(marker === undefined ? {} : { PartNumberMarker: marker }),
          }),
        );
        pages.push((page.Parts ?? []).map((p) => p.PartNumber as number));
        if (page.IsTruncated !== true) break;
        marker = String(page.NextPartNumberMarker);
      }
      assert.deepEqual(pages, [[1, 2], [3, 5], [8]]);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: uploadId }));

      const L = 'mp-list';
      await s3.send(new CreateBucketCommand({ Bucket: L }));
      const made: [string, string][] = [];
      for (const k of ['a/1', 'a/2', 'b', 'c', 'c']) {
        const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: L, Key: k }));
        made.push([k, out.UploadId as string]);
      }
      const listAll = async (extra: Record<string, unknown>): Promise<{ seen: string[]; pages: number }> => {
        const seen: string[] = [];
        let keyMarker: string | undefined;
        let idMarker: string | undefined;
        for (let page = 1; page <= 10; page++) {
          const out = await s3.send(
            new ListMultipartUploadsCommand({
              Bucket: L,
              ...extra,
              ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
              ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
            }),
          );
          for (const u of out.Uploads ?? []) seen.push(`${u.Key}#${u.UploadId}`);
          for (const p of out.CommonPrefixes ?? []) seen.push(`prefix ${p.Prefix}`);
          if (out.IsTruncated !== true) return { seen, pages: page };
          keyMarker = out.NextKeyMarker;
          idMarker = out.NextUploadIdMarker;
        }
        assert.fail('listing did not end');
      };
      const all = made.map(([k, id]) => `${k}#${id}`);
      assert.deepEqual(await listAll({ MaxUploads: 2 }), { seen: all, pages: 3 });
      assert.deepEqual((await listAll({})).seen, all);
      assert.deepEqual((await listAll({ Delimiter: '/' })).seen, [...all.slice(2), 'prefix a/']);
      assert.deepEqual((await listAll({ Prefix: 'a/', MaxUploads: 1 })).seen, all.slice(0, 2));
      const cs = await s3.send(
        new ListMultipartUploadsCommand({ Bucket: L, KeyMarker: 'c', UploadIdMarker: made[3]?.[1] }),
      );
      assert.deepEqual(
        cs.Uploads?.map((u) => u.UploadId),
        [made[4]?.[1]],
      );
      const afterB = await s3.send(new ListMultipartUploadsCommand({ Bucket: L, KeyMarker: 'b' }));
      assert.deepEqual(
        afterB.Uploads?.map((u) => u.Key),
        ['c', 'c'],
      );
      // Uploads in progress keep the bucket from being deleted (their parts hold data).
      await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: L })), 409, 'BucketNotEmpty');
      for (const [k, id] of made)
        await s3.send(new AbortMultipartUploadCommand({ Bucket: L, Key: k, UploadId: id }));
      assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: L }))).Uploads, undefined);
      await s3.send(new DeleteBucketCommand({ Bucket: L }));
    });

    it('UploadPartCopy copies ranges of an object into parts, with copy-source conditions', async () => {
      const source = randomBytes(5 * MiB + 10);
      const small = randomBytes(1000);
      await s3.send(new PutObjectCommand({ Bucket: 'mp-other', Key: 'src object', Body: source }));
      await s3.send(new PutObjectCommand({ Bucket: 'mp-other', Key: 'small', Body: small }));
      const key = 'from copies';
      const uploadId = await create(key);
      const copySource = `mp-other/${encodeURIComponent('src object')}`;
      const p1 = await s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          CopySource: copySource,
          CopySourceRange: `bytes=5-${5 * MiB + 4}`,
        }),
      );
      assert.equal(p1.CopyPartResult?.ETag, quoted(source.subarray(5, 5 * MiB + 5)));
      await expectS3Error(
        s3.send(
          new UploadPartCopyCommand({
            Bucket: B,
            Key: key,
            UploadId: uploadId,
            PartNumber: 2,
            CopySource: 'mp-other/small',
            CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"',
          }),
        ),
        412,
        'PreconditionFailed',
      );
      await expectS3Error(
        s3.send(
          new UploadPartCopyCommand({
            Bucket: B,
            Key: key,
            UploadId: uploadId,
            PartNumber: 2,
            CopySource: 'mp-other/small',
            CopySourceRange: `bytes=0-${small.length}`,
          }),
        ),
        400,
        'InvalidArgument',
      );
      // The whole source (no range), under a condition that holds.
      const p2 = await s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          PartNumber: 2,
          CopySource: 'mp-other/small',
          CopySourceIfMatch: quoted(small),
        }),
      );
      assert.equal(p2.CopyPartResult?.ETag, quoted(small));
      await complete(key, uploadId, [
        { PartNumber: 1, ETag: p1.CopyPartResult?.ETag as string },
        { PartNumber: 2, ETag: p2.CopyPartResult?.ETag as string },
      ]);
      const expected = Buffer.concat([source.subarray(5, 5 * MiB + 5), small]);
      assert.equal(md5Hex(await get(key)), md5Hex(expected));
    });

    it('CopyObject: COPY/REPLACE metadata, onto itself, other bucket, conditions, access, encoded keys', async () => {
      const body = randomBytes(70_000);
      const srcKey = 'dir/a b+ü.txt';
      await s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: srcKey,
          Body: body,
          ContentType: 'text/plain',
          Metadata: { origin: 'put' },
        }),
      );
      const src = `${B}/${encodeURIComponent(srcKey)}`;
      const copied = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-1', CopySource: src }));
      assert.equal(copied.CopyObjectResult?.ETag, quoted(body));
      assert.ok(copied.CopyObjectResult?.LastModified instanceof Date);
      let head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy-1' }));
      assert.equal(head.ContentType, 'text/plain');
      assert.deepEqual(head.Metadata, { origin: 'put' });
      assert.ok((await get('copy-1')).equals(body));

      await s3.send(
        new CopyObjectCommand({
          Bucket: 'mp-other',
          Key: 'copy-2',
          CopySource: `/${src}?versionId=null`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/x-new',
          Metadata: { origin: 'copy' },
        }),
      );
      head = await s3.send(new HeadObjectCommand({ Bucket: 'mp-other', Key: 'copy-2' }));
      assert.equal(head.ContentType, 'application/x-new');
      assert.deepEqual(head.Metadata, { origin: 'copy' });

      await expectS3Error(
        s3.send(new CopyObjectCommand({ Bucket: B, Key: srcKey, CopySource: src })),
        400,
        'InvalidRequest',
      );
      await s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: srcKey,
          CopySource: src,
          MetadataDirective: 'REPLACE',
          Metadata: { origin: 'self' },
          ContentType: 'text/x-self',
        }),
      );
      head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: srcKey }));
      assert.deepEqual(head.Metadata, { origin: 'self' });
      assert.equal(head.ContentType, 'text/x-self');
      assert.ok((await get(srcKey)).equals(body));

      const past = new Date(Date.now() - 3600_000);
      const future = new Date(Date.now() + 3600_000);
      for (const condition of [
        { CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' },
        { CopySourceIfNoneMatch: quoted(body) },
        { CopySourceIfModifiedSince: future },
        { CopySourceIfUnmodifiedSince: past },
      ])
        await expectS3Error(
          s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-3', CopySource: src, ...condition })),
          412,
          'PreconditionFailed',
        );
      await s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: 'copy-3',
          CopySource: src,
          CopySourceIfMatch: quoted(body),
          CopySourceIfModifiedSince: past,
        }),
      );
      await expectS3Error(
        s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-4', CopySource: `${B}/missing` })),
        404,
        'NoSuchKey',
      );
      await expectS3Error(
        t.aliceReadOnly.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-5', CopySource: src })),
        403,
        'AccessDenied',
      );
      await t.bob.send(new CreateBucketCommand({ Bucket: 'mp-bob' }));
      await expectS3Error(
        t.bob.send(new CopyObjectCommand({ Bucket: 'mp-bob', Key: 'stolen', CopySource: src })),
        403,
        'AccessDenied',
      );
      // A multipart object copies into a plain one with the MD5 ETag.
      const part = randomBytes(77);
      const uploadId = await create('mp-source');
      const etags = [await upload('mp-source', uploadId, 1, part)];
      await complete('mp-source', uploadId, [{ PartNumber: 1, ETag: etags[0] as string }]);
      assert.equal(
        (await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mp-source' }))).ETag,
        multipartEtag([part]),
      );
      const fromMultipart = await s3.send(
        new CopyObjectCommand({ Bucket: B, Key: 'copy-of-mp', CopySource: `${B}/mp-source` }),
      );
      assert.equal(fromMultipart.CopyObjectResult?.ETag, quoted(part));
    });

    it('carries tags: CopyObject COPY/REPLACE tagging directive, CreateMultipartUpload x-amz-tagging', async () => {
      const tagsOf = async (key: string): Promise<string[]> =>
        ((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: key }))).TagSet ?? []).map(
          (t) => `${t.Key}=${t.Value}`,
        );
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'tagged', Body: 'x', Tagging: 'a=1&b=two' }));
      await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'tagged-copy', CopySource: `${B}/tagged` }));
      assert.deepEqual((await tagsOf('tagged-copy')).sort(), ['a=1', 'b=two']);
      await s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: 'tagged-replaced',
          CopySource: `${B}/tagged`,
          TaggingDirective: 'REPLACE',
          Tagging: 'c=3',
        }),
      );
      assert.deepEqual(await tagsOf('tagged-replaced'), ['c=3']);
      const uploadId = await create('tagged-mp', { Tagging: 'mp=yes' });
      const etag = await upload('tagged-mp', uploadId, 1, Buffer.from('tagged multipart'));
      await complete('tagged-mp', uploadId, [{ PartNumber: 1, ETag: etag }]);
      assert.deepEqual(await tagsOf('tagged-mp'), ['mp=yes']);
    });

    it('copies an object larger than one chunk', { skip: false }, async (ctx) => {
      const size = t.bigCopyBytes;
      if (size === undefined) return ctx.skip('one chunk is the whole file on this backend');
      const data = randomBytes(size);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big-src', Body: data }));
      const out = await s3.send(
        new CopyObjectCommand({ Bucket: B, Key: 'big-copy', CopySource: `${B}/big-src` }),
      );
      assert.equal(out.CopyObjectResult?.ETag, quoted(data));
      assert.equal(md5Hex(await get('big-copy')), md5Hex(data));
    });
  });
}
