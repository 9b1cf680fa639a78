// S3 behaviour suite: the pinned AWS SDK against a real gateway process. Parameterised by a
// starter so it runs unchanged against every backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { presignRequest, signRequest } from '../../../shared/sigv4/index.ts';
import { request as httpRequest } from 'node:http';
import { ACCOUNTS, REGION, VHOST_DOMAIN } from './harness.ts';
import type { GatewayStarter, StartedGateway, TestAccount } from './harness.ts';

interface RawRequest {
  method: string;
  /** Percent-encoded path. */
  path: string;
  query?: string;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Hash to sign instead of the body's SHA-256. */
  payloadHash?: string;
  account?: TestAccount;
}

/** A signed HTTP request with a chosen Host header (fetch cannot set Host): virtual-hosted style. */
function signedWithHost(
  baseUrl: string,
  host: string,
  request: { method: string; path: string; body?: Buffer; chunked?: boolean },
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(baseUrl);
  const body = request.body ?? Buffer.alloc(0);
  const q = request.path.indexOf('?');
  const signed = signRequest({
    method: request.method,
    path: q < 0 ? request.path : request.path.slice(0, q),
    query: q < 0 ? '' : request.path.slice(q + 1),
    headers: { host },
    payloadHash: request.chunked ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(body).digest('hex'),
    credentials: { accessKeyId: ACCOUNTS.alice.accessKeyId, secretAccessKey: ACCOUNTS.alice.secretAccessKey },
    region: REGION,
    service: 's3',
  });
  const length: Record<string, string> = request.chunked ? {} : { 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: { host, ...length, ...signed.headers },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(parts).toString(),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // Without Content-Length, node sends the body with Transfer-Encoding: chunked.
    if (request.chunked) req.write(body);
    req.end(request.chunked ? undefined : body);
  });
}

/** A request signed with our own SigV4 signer and sent with fetch (for what the SDK will not send). */
async function signedFetch(baseUrl: string, request: RawRequest): Promise<Response> {
  const url = new URL(baseUrl);
  const account = request.account ?? ACCOUNTS.alice;
  const body = request.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { host: url.host, ...(request.headers ?? {}) };
  const signed = signRequest({
    method: request.method,
    path: request.path,
    query: request.query ?? '',
    headers,
    payloadHash: request.payloadHash ?? createHash('sha256').update(body).digest('hex'),
    credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey },
    region: REGION,
    service: 's3',
  });
  const target = `${baseUrl}${request.path}${request.query ? `?${request.query}` : ''}`;
  const { host: _host, ...sendHeaders } = headers;
  return fetch(target, {
    method: request.method,
    headers: { ...sendHeaders, ...signed.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
  });
}

interface SdkError {
  name: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

async function expectS3Error(promise: Promise<unknown>, status: number, code?: string): Promise<SdkError> {
  try {
    await promise;
  } catch (caught) {
    const error = caught as SdkError;
    assert.equal(error.$metadata?.httpStatusCode, status, `expected HTTP ${status}, got ${String(caught)}`);
    if (code !== undefined) assert.equal(error.Code ?? error.name, code);
    return error;
  }
  assert.fail(`expected an S3 error ${status} ${code ?? ''}`);
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const stream = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await stream.transformToByteArray());
}

const md5Hex = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** Runs `fn` over `items` with at most `limit` in flight. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

export function defineS3BehaviourSuite(backendName: string, start: GatewayStarter): void {
  describe(`S3 behaviour (${backendName} backend)`, () => {
    let gateway: StartedGateway;
    let alice: S3Client;
    let bob: S3Client;
    let aliceReadOnly: S3Client;

    before(async () => {
      gateway = await start();
      alice = gateway.client(ACCOUNTS.alice);
      bob = gateway.client(ACCOUNTS.bob);
      aliceReadOnly = gateway.client(ACCOUNTS.aliceReadOnly);
    });
    after(async () => {
      await gateway?.stop();
    });

    it('serves health and readiness without auth, with request ids', async () => {
      for (const path of ['/_predastore/health', '/_predastore/ready']) {
        const response = await fetch(gateway.url + path);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('x-amz-request-id') ?? '', /^[0-9A-F]{16}$/);
        assert.ok((response.headers.get('x-amz-id-2') ?? '').length > 0);
      }
    });

    it('answers unsigned requests with an S3 XML error carrying Code, Message, Resource, RequestId', async () => {
      const response = await fetch(`${gateway.url}/some-bucket/some%20key`);
      assert.equal(response.status, 403);
      const requestId = response.headers.get('x-amz-request-id');
      assert.ok(requestId);
      const text = await response.text();
      assert.match(text, /<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message>/);
      assert.match(text, /<Resource>\/some-bucket\/some key<\/Resource>/);
      assert.ok(text.includes(`<RequestId>${requestId}</RequestId>`));
    });

    it('creates, heads, lists and deletes buckets with S3 naming and ownership rules', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'alpha-bucket' }));
      await alice.send(
        new CreateBucketCommand({
          Bucket: 'beta.bucket',
          CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never },
        }),
      );
      await bob.send(new CreateBucketCommand({ Bucket: 'bob-bucket' }));
      for (const bad of ['ab', 'Upper-Case', 'under_score', '-dash', 'a..b', '192.168.1.1', 'x'.repeat(64)])
        await expectS3Error(alice.send(new CreateBucketCommand({ Bucket: bad })), 400, 'InvalidBucketName');
      await expectS3Error(
        alice.send(new CreateBucketCommand({ Bucket: 'alpha-bucket' })),
        409,
        'BucketAlreadyOwnedByYou',
      );
      await expectS3Error(
        bob.send(new CreateBucketCommand({ Bucket: 'alpha-bucket' })),
        409,
        'BucketAlreadyExists',
      );
      await expectS3Error(
        alice.send(
          new CreateBucketCommand({
            Bucket: 'gamma-bucket',
            CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
          }),
        ),
        400,
        'IllegalLocationConstraintException',
      );

      const head = await alice.send(new HeadBucketCommand({ Bucket: 'alpha-bucket' }));
      assert.equal(head.BucketRegion, 'us-east-1');
      const location = await alice.send(new GetBucketLocationCommand({ Bucket: 'alpha-bucket' }));
      assert.ok(location.LocationConstraint === undefined || (location.LocationConstraint as string) === '');
      await expectS3Error(alice.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })), 404);
      await expectS3Error(alice.send(new HeadBucketCommand({ Bucket: 'bob-bucket' })), 403);

      const mine = await alice.send(new ListBucketsCommand({}));
      assert.deepEqual(
        mine.Buckets?.map((b) => b.Name),
        ['alpha-bucket', 'beta.bucket'],
      );
      assert.equal(mine.Owner?.ID, ACCOUNTS.alice.accountId);
      const bobs = await bob.send(new ListBucketsCommand({}));
      assert.deepEqual(
        bobs.Buckets?.map((b) => b.Name),
        ['bob-bucket'],
      );

      await alice.send(new PutObjectCommand({ Bucket: 'beta.bucket', Key: 'k', Body: 'x' }));
      await expectS3Error(
        alice.send(new DeleteBucketCommand({ Bucket: 'beta.bucket' })),
        409,
        'BucketNotEmpty',
      );
      await expectS3Error(bob.send(new DeleteBucketCommand({ Bucket: 'beta.bucket' })), 403, 'AccessDenied');
      await alice.send(new DeleteObjectCommand({ Bucket: 'beta.bucket', Key: 'k' }));
      await alice.send(new DeleteBucketCommand({ Bucket: 'beta.bucket' }));
      await expectS3Error(alice.send(new HeadBucketCommand({ Bucket: 'beta.bucket' })), 404);
      await expectS3Error(
        alice.send(new DeleteBucketCommand({ Bucket: 'beta.bucket' })),
        404,
        'NoSuchBucket',
      );
    });

    it('round-trips objects bit-exactly at 0 B, 1 B, 64 KiB ± 1 and a few MiB', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'sizes' }));
      for (const size of [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7]) {
        const data = randomBytes(size);
        const put = await alice.send(
          new PutObjectCommand({ Bucket: 'sizes', Key: `obj-${size}`, Body: data }),
        );
        assert.equal(put.ETag, `"${md5Hex(data)}"`);
        const got = await alice.send(new GetObjectCommand({ Bucket: 'sizes', Key: `obj-${size}` }));
        assert.equal(got.ContentLength, size);
        assert.equal(got.ETag, put.ETag);
        const back = await bodyBytes(got.Body);
        assert.equal(back.length, size);
        assert.ok(back.equals(data), `object of ${size} bytes differs`);
      }
    });

    it('stores Content-Type, x-amz-meta-* and standard headers; overwrites replace them', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'meta' }));
      await alice.send(
        new PutObjectCommand({
          Bucket: 'meta',
          Key: 'doc.txt',
          Body: 'hello',
          ContentType: 'text/plain; charset=utf-8',
          CacheControl: 'max-age=60',
          ContentDisposition: 'attachment; filename="doc.txt"',
          ContentLanguage: 'en',
          Metadata: { colour: 'blue', 'Mixed-Case': 'Value With Spaces' },
        }),
      );
      const head = await alice.send(new HeadObjectCommand({ Bucket: 'meta', Key: 'doc.txt' }));
      assert.equal(head.ContentType, 'text/plain; charset=utf-8');
      assert.equal(head.ContentLength, 5);
      assert.equal(head.CacheControl, 'max-age=60');
      assert.equal(head.ContentDisposition, 'attachment; filename="doc.txt"');
      assert.equal(head.ContentLanguage, 'en');
      assert.deepEqual(head.Metadata, { colour: 'blue', 'mixed-case': 'Value With Spaces' });
      assert.ok(head.LastModified instanceof Date);

      await alice.send(new PutObjectCommand({ Bucket: 'meta', Key: 'doc.txt', Body: 'bye' }));
      const again = await alice.send(new GetObjectCommand({ Bucket: 'meta', Key: 'doc.txt' }));
      assert.notEqual(again.ContentType, 'text/plain; charset=utf-8');
      assert.deepEqual(again.Metadata, {});
      assert.equal((await bodyBytes(again.Body)).toString(), 'bye');

      const overridden = await alice.send(
        new GetObjectCommand({ Bucket: 'meta', Key: 'doc.txt', ResponseContentType: 'application/x-test' }),
      );
      assert.equal(overridden.ContentType, 'application/x-test');
      await bodyBytes(overridden.Body);
    });

    it('checks Content-MD5 and keeps the old object when it does not match', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'digest' }));
      const data = Buffer.from('the quick brown fox');
      const good = createHash('md5').update(data).digest('base64');
      await alice.send(new PutObjectCommand({ Bucket: 'digest', Key: 'k', Body: data, ContentMD5: good }));
      const wrong = createHash('md5').update('something else').digest('base64');
      await expectS3Error(
        alice.send(
          new PutObjectCommand({ Bucket: 'digest', Key: 'k', Body: 'replacement', ContentMD5: wrong }),
        ),
        400,
        'BadDigest',
      );
      await expectS3Error(
        alice.send(
          new PutObjectCommand({ Bucket: 'digest', Key: 'k', Body: 'replacement', ContentMD5: 'not-md5' }),
        ),
        400,
        'InvalidDigest',
      );
      const got = await alice.send(new GetObjectCommand({ Bucket: 'digest', Key: 'k' }));
      assert.ok((await bodyBytes(got.Body)).equals(data));
    });

    it('serves byte ranges: closed, open, suffix, clamped, and 416 when unsatisfiable', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'ranges' }));
      const data = randomBytes(100_000);
      await alice.send(new PutObjectCommand({ Bucket: 'ranges', Key: 'r', Body: data }));
      const cases: [string, number, number][] = [
        ['bytes=0-9', 0, 9],
        ['bytes=65530-65545', 65530, 65545],
        ['bytes=99990-', 99990, 99999],
        ['bytes=-7', 99993, 99999],
        ['bytes=-200000', 0, 99999],
        ['bytes=99000-5000000', 99000, 99999],
      ];
      for (const [range, start, end] of cases) {
        const got = await alice.send(new GetObjectCommand({ Bucket: 'ranges', Key: 'r', Range: range }));
        assert.equal(got.$metadata.httpStatusCode, 206, range);
        assert.equal(got.ContentRange, `bytes ${start}-${end}/100000`, range);
        assert.equal(got.ContentLength, end - start + 1, range);
        assert.ok((await bodyBytes(got.Body)).equals(data.subarray(start, end + 1)), range);
      }
      const head = await alice.send(
        new HeadObjectCommand({ Bucket: 'ranges', Key: 'r', Range: 'bytes=10-19' }),
      );
      assert.equal(head.ContentLength, 10);
      assert.equal(head.ContentRange, 'bytes 10-19/100000');
      for (const range of ['bytes=100000-', 'bytes=200000-200010', 'bytes=-0'])
        await expectS3Error(
          alice.send(new GetObjectCommand({ Bucket: 'ranges', Key: 'r', Range: range })),
          416,
          'InvalidRange',
        );
      // Unparseable ranges are ignored, as S3 does: the whole object is served.
      const whole = await alice.send(
        new GetObjectCommand({ Bucket: 'ranges', Key: 'r', Range: 'bytes=abc' }),
      );
      assert.equal(whole.$metadata.httpStatusCode, 200);
      assert.equal((await bodyBytes(whole.Body)).length, 100_000);
    });

    it('evaluates conditional headers with S3 precedence', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'conditions' }));
      const put = await alice.send(
        new PutObjectCommand({ Bucket: 'conditions', Key: 'c', Body: 'conditional' }),
      );
      const etag = put.ETag as string;
      const head = await alice.send(new HeadObjectCommand({ Bucket: 'conditions', Key: 'c' }));
      const modified = head.LastModified as Date;
      const past = new Date(modified.getTime() - 3_600_000);
      const future = new Date(modified.getTime() + 3_600_000);
      const get = (extra: Record<string, unknown>): Promise<unknown> =>
        alice.send(new GetObjectCommand({ Bucket: 'conditions', Key: 'c', ...extra }));
      const ok = async (extra: Record<string, unknown>): Promise<void> => {
        const response = (await get(extra)) as { $metadata: { httpStatusCode?: number }; Body: unknown };
        assert.equal(response.$metadata.httpStatusCode, 200, JSON.stringify(extra));
        await bodyBytes(response.Body);
      };

      await ok({ IfMatch: etag });
      await ok({ IfMatch: '*' });
      await expectS3Error(get({ IfMatch: '"0123456789abcdef0123456789abcdef"' }), 412, 'PreconditionFailed');
      await expectS3Error(get({ IfNoneMatch: etag }), 304);
      await ok({ IfNoneMatch: '"0123456789abcdef0123456789abcdef"' });
      await expectS3Error(get({ IfModifiedSince: future }), 304);
      await ok({ IfModifiedSince: past });
      await expectS3Error(get({ IfUnmodifiedSince: past }), 412, 'PreconditionFailed');
      await ok({ IfUnmodifiedSince: future });
      // If-Match true + If-Unmodified-Since false → 200.
      await ok({ IfMatch: etag, IfUnmodifiedSince: past });
      // If-None-Match false + If-Modified-Since true → 304.
      await expectS3Error(get({ IfNoneMatch: etag, IfModifiedSince: past }), 304);
      // HEAD follows the same rules.
      await expectS3Error(
        alice.send(new HeadObjectCommand({ Bucket: 'conditions', Key: 'c', IfNoneMatch: etag })),
        304,
      );
      await expectS3Error(
        alice.send(new HeadObjectCommand({ Bucket: 'conditions', Key: 'c', IfMatch: '"nope"' })),
        412,
      );
    });

    it('deletes objects with 204, also for missing keys; missing keys and buckets are 404', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'deletes' }));
      await alice.send(new PutObjectCommand({ Bucket: 'deletes', Key: 'gone', Body: 'x' }));
      const deleted = await alice.send(new DeleteObjectCommand({ Bucket: 'deletes', Key: 'gone' }));
      assert.equal(deleted.$metadata.httpStatusCode, 204);
      const again = await alice.send(new DeleteObjectCommand({ Bucket: 'deletes', Key: 'gone' }));
      assert.equal(again.$metadata.httpStatusCode, 204);
      await expectS3Error(
        alice.send(new GetObjectCommand({ Bucket: 'deletes', Key: 'gone' })),
        404,
        'NoSuchKey',
      );
      await expectS3Error(alice.send(new HeadObjectCommand({ Bucket: 'deletes', Key: 'gone' })), 404);
      await expectS3Error(
        alice.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
        404,
        'NoSuchBucket',
      );
      await expectS3Error(
        alice.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })),
        404,
        'NoSuchBucket',
      );
    });

    it('handles keys with spaces, unicode, +, %, //, ? # ; and encoded slashes', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'odd-keys' }));
      const keys = [
        'with space.txt',
        'plus+sign',
        'percent%20literal',
        'ünïcödé/日本語/😀.bin',
        'double//slash',
        '/leading-slash',
        'trailing/',
        'question?mark#hash;semi',
        'quote\'"&<>',
        'a'.repeat(1024),
      ];
      for (const key of keys) {
        await alice.send(new PutObjectCommand({ Bucket: 'odd-keys', Key: key, Body: `body of ${key}` }));
        const got = await alice.send(new GetObjectCommand({ Bucket: 'odd-keys', Key: key }));
        assert.equal((await bodyBytes(got.Body)).toString(), `body of ${key}`, key);
      }
      await expectS3Error(
        alice.send(new PutObjectCommand({ Bucket: 'odd-keys', Key: 'b'.repeat(1025), Body: 'x' })),
        400,
        'KeyTooLongError',
      );
      const listed = await alice.send(new ListObjectsV2Command({ Bucket: 'odd-keys' }));
      const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(
        listed.Contents?.map((c) => c.Key),
        expected,
      );
      const encoded = await alice.send(new ListObjectsV2Command({ Bucket: 'odd-keys', EncodingType: 'url' }));
      assert.deepEqual(
        encoded.Contents?.map((c) => decodeURIComponent(c.Key as string)),
        expected,
      );
      assert.ok(encoded.Contents?.some((c) => c.Key === 'with%20space.txt'));
    });

    it('lists 2 500 keys with prefix, delimiter, pagination, start-after and fetch-owner', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'many' }));
      const keys: string[] = [];
      for (let d = 0; d < 25; d++)
        for (let f = 0; f < 98; f++)
          keys.push(`dir${String(d).padStart(2, '0')}/file${String(f).padStart(3, '0')}`);
      for (let t = 0; t < 50; t++) keys.push(`top${String(t).padStart(3, '0')}`);
      assert.equal(keys.length, 2500);
      // Set-up with a lean signed client (half the CPU of the SDK per request); the listing is checked with the SDK.
      const host = new URL(gateway.url).host;
      await inParallel(keys, 24, async (key) => {
        const put = await signedWithHost(gateway.url, host, {
          method: 'PUT',
          path: `/many/${key}`,
          body: Buffer.from(key),
        });
        assert.equal(put.status, 200, put.body);
      });
      keys.sort();

      // Everything, 1000 per page.
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await alice.send(
          new ListObjectsV2Command({
            Bucket: 'many',
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        pages++;
        assert.equal(page.KeyCount, page.Contents?.length);
        assert.equal(page.MaxKeys, 1000);
        seen.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (page.IsTruncated) assert.ok(token);
        assert.ok(pages <= 3);
      } while (token !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(seen, keys);

      // Delimiter: 25 common prefixes and 50 top-level keys, 30 entries per page.
      const prefixes: string[] = [];
      const topKeys: string[] = [];
      token = undefined;
      pages = 0;
      do {
        const page: ListObjectsV2CommandOutput = await alice.send(
          new ListObjectsV2Command({
            Bucket: 'many',
            Delimiter: '/',
            MaxKeys: 30,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        pages++;
        assert.equal(page.KeyCount, (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
        assert.ok((page.KeyCount ?? 0) <= 30);
        prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string));
        topKeys.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        assert.ok(pages < 10);
      } while (token !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(
        prefixes,
        Array.from({ length: 25 }, (_, d) => `dir${String(d).padStart(2, '0')}/`),
      );
      assert.equal(topKeys.length, 50);

      // Prefix + delimiter inside one directory.
      const dir = await alice.send(
        new ListObjectsV2Command({ Bucket: 'many', Prefix: 'dir07/', Delimiter: '/' }),
      );
      assert.equal(dir.KeyCount, 98);
      assert.equal(dir.CommonPrefixes, undefined);
      assert.equal(dir.Prefix, 'dir07/');

      // start-after and fetch-owner.
      const after = await alice.send(
        new ListObjectsV2Command({
          Bucket: 'many',
          StartAfter: 'dir24/file095',
          MaxKeys: 5,
          FetchOwner: true,
        }),
      );
      assert.deepEqual(
        after.Contents?.map((c) => c.Key),
        ['dir24/file096', 'dir24/file097', 'top000', 'top001', 'top002'],
      );
      assert.equal(after.StartAfter, 'dir24/file095');
      assert.equal(after.Contents?.[0]?.Owner?.ID, ACCOUNTS.alice.accountId);
      const noOwner = await alice.send(new ListObjectsV2Command({ Bucket: 'many', MaxKeys: 1 }));
      assert.equal(noOwner.Contents?.[0]?.Owner, undefined);
      assert.equal(noOwner.Contents?.[0]?.Size, 'dir00/file000'.length);

      // V1 with marker.
      const v1 = await alice.send(
        new ListObjectsCommand({ Bucket: 'many', Marker: 'top047', Delimiter: '/' }),
      );
      assert.deepEqual(
        v1.Contents?.map((c) => c.Key),
        ['top048', 'top049'],
      );

      await expectS3Error(
        alice.send(new ListObjectsV2Command({ Bucket: 'many', ContinuationToken: 'garbage!' })),
        400,
        'InvalidArgument',
      );
      await expectS3Error(alice.send(new ListObjectsV2Command({ Bucket: 'many', MaxKeys: -1 })), 400);
    });

    it('refuses wrong keys, other accounts and actions outside the policy', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'private-a' }));
      await alice.send(new PutObjectCommand({ Bucket: 'private-a', Key: 'secret', Body: 'alice only' }));

      const forger = gateway.client(ACCOUNTS.alice, { secretAccessKey: 'not-the-secret' });
      await expectS3Error(forger.send(new ListBucketsCommand({})), 403, 'SignatureDoesNotMatch');
      await expectS3Error(
        forger.send(new GetObjectCommand({ Bucket: 'private-a', Key: 'secret' })),
        403,
        'SignatureDoesNotMatch',
      );
      const stranger = gateway.client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x', accountId: '0' });
      await expectS3Error(stranger.send(new ListBucketsCommand({})), 403, 'InvalidAccessKeyId');

      await expectS3Error(
        bob.send(new GetObjectCommand({ Bucket: 'private-a', Key: 'secret' })),
        403,
        'AccessDenied',
      );
      await expectS3Error(
        bob.send(new PutObjectCommand({ Bucket: 'private-a', Key: 'intruder', Body: 'x' })),
        403,
        'AccessDenied',
      );
      await expectS3Error(bob.send(new ListObjectsV2Command({ Bucket: 'private-a' })), 403, 'AccessDenied');
      await expectS3Error(
        bob.send(new DeleteObjectCommand({ Bucket: 'private-a', Key: 'secret' })),
        403,
        'AccessDenied',
      );

      const readable = await aliceReadOnly.send(new GetObjectCommand({ Bucket: 'private-a', Key: 'secret' }));
      assert.equal((await bodyBytes(readable.Body)).toString(), 'alice only');
      await expectS3Error(
        aliceReadOnly.send(new PutObjectCommand({ Bucket: 'private-a', Key: 'ro', Body: 'x' })),
        403,
        'AccessDenied',
      );
      await expectS3Error(
        aliceReadOnly.send(new DeleteObjectCommand({ Bucket: 'private-a', Key: 'secret' })),
        403,
        'AccessDenied',
      );
      const still = await alice.send(new GetObjectCommand({ Bucket: 'private-a', Key: 'secret' }));
      assert.equal((await bodyBytes(still.Body)).toString(), 'alice only');
    });

    it('accepts streaming aws-chunked uploads with trailing checksums from the SDK', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'streaming' }));
      const data = randomBytes(200_000);
      const parts = [data.subarray(0, 70_000), data.subarray(70_000, 150_000), data.subarray(150_000)];
      const put = await alice.send(
        new PutObjectCommand({
          Bucket: 'streaming',
          Key: 'streamed',
          Body: Readable.from(parts),
          ContentLength: data.length,
          ChecksumAlgorithm: 'CRC32',
        }),
      );
      assert.equal(put.ETag, `"${md5Hex(data)}"`);
      const got = await alice.send(new GetObjectCommand({ Bucket: 'streaming', Key: 'streamed' }));
      assert.ok((await bodyBytes(got.Body)).equals(data));
      assert.ok(got.$metadata.requestId);
    });

    it('rejects bodies that do not match their signed hash, malformed XML and missing lengths', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'raw-checks' }));
      const tampered = await signedFetch(gateway.url, {
        method: 'PUT',
        path: '/raw-checks/tampered',
        body: Buffer.from('what was sent'),
        payloadHash: createHash('sha256').update('what was signed').digest('hex'),
      });
      assert.equal(tampered.status, 400);
      assert.match(await tampered.text(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
      await expectS3Error(alice.send(new HeadObjectCommand({ Bucket: 'raw-checks', Key: 'tampered' })), 404);

      const malformed = await signedFetch(gateway.url, {
        method: 'PUT',
        path: '/raw-malformed',
        body: Buffer.from('<CreateBucketConfiguration><LocationConstraint>'),
      });
      assert.equal(malformed.status, 400);
      assert.match(await malformed.text(), /<Code>MalformedXML<\/Code>/);
      await expectS3Error(alice.send(new HeadBucketCommand({ Bucket: 'raw-malformed' })), 404);

      const ok = await signedFetch(gateway.url, {
        method: 'PUT',
        path: '/raw-checks/plain%20key',
        body: Buffer.from('signed body'),
        headers: { 'content-type': 'text/plain', 'x-amz-meta-from': 'fetch' },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('etag'), `"${md5Hex(Buffer.from('signed body'))}"`);
      const head = await alice.send(new HeadObjectCommand({ Bucket: 'raw-checks', Key: 'plain key' }));
      assert.deepEqual(head.Metadata, { from: 'fetch' });

      const host = new URL(gateway.url).host;
      const unsized = await signedWithHost(gateway.url, host, {
        method: 'PUT',
        path: '/raw-checks/unsized',
        body: Buffer.from('no length given'),
        chunked: true,
      });
      assert.equal(unsized.status, 411);
      assert.match(unsized.body, /<Code>MissingContentLength<\/Code>/);
    });

    it('serves presigned GET URLs and refuses tampered ones', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'presigned' }));
      await alice.send(
        new PutObjectCommand({ Bucket: 'presigned', Key: 'shared file', Body: 'shared bytes' }),
      );
      const url = new URL(gateway.url);
      const query = presignRequest({
        method: 'GET',
        path: '/presigned/shared%20file',
        headers: { host: url.host },
        credentials: {
          accessKeyId: ACCOUNTS.alice.accessKeyId,
          secretAccessKey: ACCOUNTS.alice.secretAccessKey,
        },
        region: REGION,
        service: 's3',
        expiresIn: 300,
      });
      const response = await fetch(`${gateway.url}/presigned/shared%20file?${query}`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'shared bytes');
      const tampered = await fetch(`${gateway.url}/presigned/other?${query}`);
      assert.equal(tampered.status, 403);
      assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    });

    it('serves virtual-hosted-style requests for the configured domain', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'vhosted' }));
      const port = new URL(gateway.url).port;
      const host = `vhosted.${VHOST_DOMAIN}:${port}`;
      const put = await signedWithHost(gateway.url, host, {
        method: 'PUT',
        path: '/dir/virtual%20key',
        body: Buffer.from('via vhost'),
      });
      assert.equal(put.status, 200, `vhost PUT: ${put.body}`);
      const got = await alice.send(new GetObjectCommand({ Bucket: 'vhosted', Key: 'dir/virtual key' }));
      assert.equal((await bodyBytes(got.Body)).toString(), 'via vhost');
      const list = await signedWithHost(gateway.url, host, { method: 'GET', path: '/?list-type=2' });
      assert.equal(list.status, 200, `vhost list: ${list.body}`);
      assert.match(list.body, /<Name>vhosted<\/Name>/);
      assert.match(list.body, /<Key>dir\/virtual key<\/Key>/);
      // On a bucket host, /_predastore/health is an ordinary key, not the health endpoint.
      const health = await signedWithHost(gateway.url, host, { method: 'GET', path: '/_predastore/health' });
      assert.equal(health.status, 404);
      assert.match(health.body, /<Code>NoSuchKey<\/Code>/);
    });

    it('answers NotImplemented for features not built yet, never a wrong success', async () => {
      await alice.send(new CreateBucketCommand({ Bucket: 'unbuilt' }));
      await alice.send(new PutObjectCommand({ Bucket: 'unbuilt', Key: 'src', Body: 'x' }));
      await expectS3Error(
        alice.send(new GetBucketTaggingCommand({ Bucket: 'unbuilt' })),
        501,
        'NotImplemented',
      );
      await expectS3Error(alice.send(new HeadObjectCommand({ Bucket: 'unbuilt', Key: 'dst' })), 404);
    });
  });
}
