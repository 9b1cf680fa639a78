// S3 API breadth suite (DeleteObjects, versions, tagging, CORS, checksums): the pinned AWS SDK and
// raw signed requests against a real gateway. Parameterised by a starter so it runs on both backends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { presignRequest, signRequest } from '../../../shared/sigv4/index.ts';
import { checksumOf } from '../../../gateway/auth/checksums.ts';
import { raceDeleteBucketAgainstPuts } from './bucket-race.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ApiTarget {
  url: string;
  region: string;
  /** An account with full access. */
  owner: { credentials: Credentials; client: S3Client };
  /** A key of the same account allowed only to read and list. */
  readOnly: { credentials: Credentials; client: S3Client };
  /** Also drive `aws s3api delete-objects` (the Debian AWS CLI at /usr/bin/aws) against this target. */
  awsCli?: boolean;
  /** Number of garbage records queued (distributed backend only). */
  garbageCount?: () => Promise<number>;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
/** The Debian package's CLI (an older `aws` may come first on PATH; docs/compat.md). */
const AWS_CLI = '/usr/bin/aws';

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

async function text(body: unknown): Promise<string> {
  return (body as { transformToString(): Promise<string> }).transformToString();
}

interface RawRequest {
  method: string;
  path: string;
  query?: string;
  body?: string;
  headers?: Record<string, string>;
  credentials: Credentials;
}

export function defineS3ApiSuite(name: string, start: () => Promise<ApiTarget>): void {
  describe(`S3 API: DeleteObjects, versions, tagging, CORS, checksums (${name})`, () => {
    let target: ApiTarget;
    let s3: S3Client;

    /** A request signed with our SigV4 signer and sent with fetch (what the SDK will not send). */
    async function signedFetch(request: RawRequest): Promise<Response> {
      const url = new URL(target.url);
      const body = request.body ?? '';
      const headers: Record<string, string> = { host: url.host, ...(request.headers ?? {}) };
      const signed = signRequest({
        method: request.method,
        path: request.path,
        query: request.query ?? '',
        headers,
        payloadHash: createHash('sha256').update(body).digest('hex'),
        credentials: request.credentials,
        region: target.region,
        service: 's3',
      });
      const { host: _host, ...send } = headers;
      return fetch(`${target.url}${request.path}${request.query ? `?${request.query}` : ''}`, {
        method: request.method,
        headers: { ...send, ...signed.headers },
        ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body }),
      });
    }

    before(async () => {
      target = await start();
      s3 = target.owner.client;
      for (const bucket of ['batch', 'versions', 'tags', 'cors', 'sums'])
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    });
    after(async () => {
      await target?.stop();
    });

    it('DeleteBucket racing PUTs: no acknowledged PUT in a deleted bucket, nothing old in a re-created one', async () => {
      const tally = await raceDeleteBucketAgainstPuts(s3, 'race', {
        rounds: 8,
        puts: 4,
        jitterMs: 40,
        seed: 7,
      });
      // Both histories happened (else the race was not exercised).
      assert.ok(tally.deleted > 0 && tally.notEmpty > 0, JSON.stringify(tally));
    });

    it('DeleteObjects deletes many keys, reports each, honours Quiet and writes garbage', async () => {
      const keys = ['a', ' spaced key ', 'dir/ünïcode', 'x&y<z>', 'keep'];
      // 8 KiB each: large enough to be stored as shards (tiny objects may live inline in their record)
      for (const key of keys)
        await s3.send(new PutObjectCommand({ Bucket: 'batch', Key: key, Body: Buffer.alloc(8192, key) }));
      const garbageBefore = (await target.garbageCount?.()) ?? 0;
      const verbose = await s3.send(
        new DeleteObjectsCommand({
          Bucket: 'batch',
          Delete: {
            Objects: [
              { Key: 'a' },
              { Key: ' spaced key ' },
              { Key: 'dir/ünïcode', VersionId: 'null' },
              { Key: 'never-existed' },
            ],
          },
        }),
      );
      assert.deepEqual((verbose.Deleted ?? []).map((d) => d.Key).sort(), [
        ' spaced key ',
        'a',
        'dir/ünïcode',
        'never-existed',
      ]);
      assert.equal(verbose.Errors, undefined);
      const quiet = await s3.send(
        new DeleteObjectsCommand({
          Bucket: 'batch',
          Delete: { Quiet: true, Objects: [{ Key: 'x&y<z>' }, { Key: 'keep', VersionId: 'some-version' }] },
        }),
      );
      assert.equal(quiet.Deleted, undefined);
      assert.deepEqual(
        (quiet.Errors ?? []).map((e) => [e.Key, e.Code]),
        [['keep', 'NoSuchVersion']],
      );
      const left = await s3.send(new ListObjectsV2Command({ Bucket: 'batch' }));
      assert.deepEqual(
        (left.Contents ?? []).map((c) => c.Key),
        ['keep'],
      );
      if (target.garbageCount !== undefined)
        assert.ok(
          (await target.garbageCount()) >= garbageBefore + 4,
          'each deleted object queues its shards as garbage',
        );
    });

    it('DeleteObjects refuses bad requests and reports per-key AccessDenied', async () => {
      const tooMany = Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` }));
      await expectS3Error(
        s3.send(new DeleteObjectsCommand({ Bucket: 'batch', Delete: { Objects: tooMany } })),
        400,
        'MalformedXML',
      );
      const xml = '<Delete><Object><Key>keep</Key></Object></Delete>';
      const unsummed = await signedFetch({
        method: 'POST',
        path: '/batch',
        query: 'delete=',
        body: xml,
        credentials: target.owner.credentials,
      });
      assert.equal(unsummed.status, 400);
      assert.match(await unsummed.text(), /<Code>InvalidRequest<\/Code>.*Content-MD5/);
      const badXml = await signedFetch({
        method: 'POST',
        path: '/batch',
        query: 'delete=',
        body: '<Delete><Object></Object>',
        headers: { 'content-md5': createHash('md5').update('<Delete><Object></Object>').digest('base64') },
        credentials: target.owner.credentials,
      });
      assert.equal(badXml.status, 400);
      assert.match(await badXml.text(), /<Code>MalformedXML<\/Code>/);
      const denied = await target.readOnly.client.send(
        new DeleteObjectsCommand({ Bucket: 'batch', Delete: { Objects: [{ Key: 'keep' }] } }),
      );
      assert.deepEqual(
        (denied.Errors ?? []).map((e) => [e.Key, e.Code]),
        [['keep', 'AccessDenied']],
      );
      const still = await s3.send(new GetObjectCommand({ Bucket: 'batch', Key: 'keep' }));
      assert.equal(await text(still.Body), Buffer.alloc(8192, 'keep').toString());
    });

    it('aws s3api delete-objects (AWS CLI, Content-MD5) deletes and reports keys', async (t) => {
      if (target.awsCli !== true || !existsSync(AWS_CLI)) {
        t.skip('AWS CLI run only on the filesystem target, when /usr/bin/aws exists');
        return;
      }
      for (const key of ['cli-a', 'cli b'])
        await s3.send(new PutObjectCommand({ Bucket: 'batch', Key: key, Body: key }));
      const home = await mkdtemp(join(tmpdir(), 'pd-awscli-'));
      try {
        const { stdout } = await execFileAsync(
          AWS_CLI,
          [
            '--endpoint-url',
            target.url,
            '--region',
            target.region,
            '--output',
            'json',
            's3api',
            'delete-objects',
            '--bucket',
            'batch',
            '--delete',
            JSON.stringify({ Objects: [{ Key: 'cli-a' }, { Key: 'cli b' }, { Key: 'cli-missing' }] }),
          ],
          {
            timeout: 60_000,
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              HOME: home,
              AWS_ACCESS_KEY_ID: target.owner.credentials.accessKeyId,
              AWS_SECRET_ACCESS_KEY: target.owner.credentials.secretAccessKey,
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_CONFIG_FILE: join(home, 'config'),
              AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
            },
          },
        );
        const out = JSON.parse(stdout) as { Deleted?: { Key: string }[]; Errors?: unknown[] };
        assert.deepEqual((out.Deleted ?? []).map((d) => d.Key).sort(), ['cli b', 'cli-a', 'cli-missing']);
        assert.equal(out.Errors, undefined);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'batch', Key: 'cli-a' })), 404);
    });

    it('ListObjectVersions shows every object once as the null version, with all parameters', async () => {
      for (const key of ['a', 'b/1', 'b/2', 'c', 'd'])
        await s3.send(new PutObjectCommand({ Bucket: 'versions', Key: key, Body: key }));
      const all = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions' }));
      assert.deepEqual(
        (all.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest]),
        [
          ['a', 'null', true],
          ['b/1', 'null', true],
          ['b/2', 'null', true],
          ['c', 'null', true],
          ['d', 'null', true],
        ],
      );
      assert.equal(all.IsTruncated, false);
      assert.equal(all.Versions?.[0]?.ETag, `"${createHash('md5').update('a').digest('hex')}"`);
      // delimiter + paging with key-marker / version-id-marker
      const seen: string[] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (let page = 0; page < 10; page++) {
        const out = await s3.send(
          new ListObjectVersionsCommand({
            Bucket: 'versions',
            Delimiter: '/',
            MaxKeys: 2,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(versionIdMarker === undefined ? {} : { VersionIdMarker: versionIdMarker }),
          }),
        );
        seen.push(...(out.Versions ?? []).map((v) => v.Key as string));
        seen.push(...(out.CommonPrefixes ?? []).map((p) => `prefix:${p.Prefix}`));
        if (!out.IsTruncated) break;
        keyMarker = out.NextKeyMarker;
        versionIdMarker = out.NextVersionIdMarker;
      }
      assert.deepEqual(seen, ['a', 'prefix:b/', 'c', 'd']);
      const prefixed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions', Prefix: 'b/' }));
      assert.deepEqual(
        (prefixed.Versions ?? []).map((v) => v.Key),
        ['b/1', 'b/2'],
      );
      const afterNull = await s3.send(
        new ListObjectVersionsCommand({ Bucket: 'versions', KeyMarker: 'b/2', VersionIdMarker: 'null' }),
      );
      assert.deepEqual(
        (afterNull.Versions ?? []).map((v) => v.Key),
        ['c', 'd'],
      );
      await expectS3Error(
        s3.send(new ListObjectVersionsCommand({ Bucket: 'versions', VersionIdMarker: 'null' })),
        400,
        'InvalidArgument',
      );
    });

    it('versioning: empty for an unversioned bucket, Suspended accepted, Enabled NotImplemented', async () => {
      const none = await s3.send(new GetBucketVersioningCommand({ Bucket: 'versions' }));
      assert.equal(none.Status, undefined);
      await expectS3Error(
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: 'versions',
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        ),
        501,
        'NotImplemented',
      );
      assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'versions' }))).Status, undefined);
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: 'versions',
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      );
      assert.equal(
        (await s3.send(new GetBucketVersioningCommand({ Bucket: 'versions' }))).Status,
        'Suspended',
      );
    });

    it('versionId=null reads and deletes the current object; other version ids are NoSuchVersion', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'versions', Key: 'v', Body: 'current' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: 'null' }));
      assert.equal(await text(got.Body), 'current');
      await s3.send(new HeadObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: 'null' }));
      const other = 'Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk';
      await expectS3Error(
        s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: other })),
        404,
        'NoSuchVersion',
      );
      await expectS3Error(
        s3.send(new HeadObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: other })),
        404,
      );
      await expectS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: other })),
        404,
        'NoSuchVersion',
      );
      await s3.send(new HeadObjectCommand({ Bucket: 'versions', Key: 'v' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'v', VersionId: 'null' }));
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'versions', Key: 'v' })), 404);
    });

    it('tags objects at PUT and with Put/Get/DeleteObjectTagging; counts them on GET/HEAD', async () => {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'tags',
          Key: 't',
          Body: 'tagged',
          Tagging: 'project=predastore&note=two%20words&empty=',
        }),
      );
      const tagged = await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 't' }));
      assert.deepEqual(tagged.TagSet, [
        { Key: 'project', Value: 'predastore' },
        { Key: 'note', Value: 'two words' },
        { Key: 'empty', Value: '' },
      ]);
      const head = await signedFetch({
        method: 'HEAD',
        path: '/tags/t',
        credentials: target.owner.credentials,
      });
      assert.equal(head.headers.get('x-amz-tagging-count'), '3');
      const got = await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 't' }));
      assert.equal(got.TagCount, 3);
      await got.Body?.transformToByteArray();
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: 'tags',
          Key: 't',
          Tagging: { TagSet: [{ Key: 'ünïcode key', Value: 'v:/=+-.@_' }] },
        }),
      );
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 't' }))).TagSet, [
        { Key: 'ünïcode key', Value: 'v:/=+-.@_' },
      ]);
      // the data and metadata are untouched by tagging
      const after = await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 't' }));
      assert.equal(await text(after.Body), 'tagged');
      assert.equal(after.TagCount, 1);
      await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'tags', Key: 't' }));
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 't' }))).TagSet, []);
      // an overwrite without x-amz-tagging has no tags
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: 'tags',
          Key: 't',
          Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 't', Body: 'new' }));
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 't' }))).TagSet, []);
      await expectS3Error(
        s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 'missing' })),
        404,
        'NoSuchKey',
      );
      await expectS3Error(
        s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'missing', Tagging: { TagSet: [] } })),
        404,
        'NoSuchKey',
      );
    });

    it('refuses invalid tag sets (limits, duplicates) and keeps the object unchanged', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'limits', Body: 'x', Tagging: 'keep=1' }));
      const put = (TagSet: { Key: string; Value: string }[]): Promise<unknown> =>
        s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'limits', Tagging: { TagSet } }));
      const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      await expectS3Error(put(eleven), 400, 'BadRequest');
      await expectS3Error(put([{ Key: 'k'.repeat(129), Value: '' }]), 400, 'InvalidTag');
      await expectS3Error(put([{ Key: 'k', Value: 'v'.repeat(257) }]), 400, 'InvalidTag');
      await expectS3Error(
        put([
          { Key: 'same', Value: '1' },
          { Key: 'same', Value: '2' },
        ]),
        400,
        'InvalidTag',
      );
      await put([{ Key: 'k'.repeat(128), Value: 'é'.repeat(256) }]);
      await put([{ Key: 'keep', Value: '1' }]);
      await expectS3Error(
        s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'bad-put', Body: 'x', Tagging: 'a=1&a=2' })),
        400,
        'InvalidTag',
      );
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'bad-put' })), 404);
      await expectS3Error(
        target.readOnly.client.send(
          new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'limits', Tagging: { TagSet: [] } }),
        ),
        403,
        'AccessDenied',
      );
      assert.deepEqual(
        (await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 'limits' }))).TagSet,
        [{ Key: 'keep', Value: '1' }],
      );
    });

    it('a tag update never undoes a concurrent overwrite', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'race', Body: 'round -1' }));
      for (let round = 0; round < 6; round++) {
        const results = await Promise.allSettled([
          s3.send(
            new PutObjectTaggingCommand({
              Bucket: 'tags',
              Key: 'race',
              Tagging: { TagSet: [{ Key: 'round', Value: String(round) }] },
            }),
          ),
          s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'race', Body: `round ${round}` })),
        ]);
        assert.equal(results[1].status, 'fulfilled');
        const got = await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 'race' }));
        assert.equal(await text(got.Body), `round ${round}`);
      }
    });

    it('bucket CORS: Put/Get/Delete with validation, NoSuchCORSConfiguration', async () => {
      await expectS3Error(
        s3.send(new GetBucketCorsCommand({ Bucket: 'cors' })),
        404,
        'NoSuchCORSConfiguration',
      );
      const rule = { AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET'] };
      await expectS3Error(
        s3.send(
          new PutBucketCorsCommand({
            Bucket: 'cors',
            CORSConfiguration: { CORSRules: [{ ...rule, AllowedMethods: ['PATCH'] }] },
          }),
        ),
        400,
        'InvalidRequest',
      );
      await expectS3Error(
        s3.send(
          new PutBucketCorsCommand({
            Bucket: 'cors',
            CORSConfiguration: { CORSRules: [{ ...rule, AllowedOrigins: ['https://*.*.example.com'] }] },
          }),
        ),
        400,
        'InvalidRequest',
      );
      await expectS3Error(
        s3.send(
          new PutBucketCorsCommand({
            Bucket: 'cors',
            CORSConfiguration: { CORSRules: Array.from({ length: 101 }, () => rule) },
          }),
        ),
        400,
        'InvalidRequest',
      );
      const rules = [
        {
          ID: 'uploads',
          AllowedOrigins: ['https://app.example.com'],
          AllowedMethods: ['PUT', 'GET'],
          AllowedHeaders: ['*'],
          ExposeHeaders: ['ETag'],
          MaxAgeSeconds: 600,
        },
        {
          AllowedOrigins: ['http://*.example.org'],
          AllowedMethods: ['GET', 'HEAD'],
          AllowedHeaders: ['range'],
        },
      ];
      await s3.send(new PutBucketCorsCommand({ Bucket: 'cors', CORSConfiguration: { CORSRules: rules } }));
      const got = await s3.send(new GetBucketCorsCommand({ Bucket: 'cors' }));
      assert.deepEqual(got.CORSRules, rules);
      await expectS3Error(
        target.readOnly.client.send(new GetBucketCorsCommand({ Bucket: 'cors' })),
        403,
        'AccessDenied',
      );
    });

    it('answers CORS preflights without auth and adds CORS headers to cross-origin answers', async () => {
      const preflight = (path: string, headers: Record<string, string>): Promise<Response> =>
        fetch(`${target.url}${path}`, { method: 'OPTIONS', headers });
      const ok = await preflight('/cors/upload.bin', {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type, x-amz-meta-owner',
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(ok.headers.get('access-control-allow-methods'), 'PUT, GET');
      assert.equal(ok.headers.get('access-control-allow-headers'), 'content-type, x-amz-meta-owner');
      assert.equal(ok.headers.get('access-control-max-age'), '600');
      assert.equal(ok.headers.get('access-control-expose-headers'), 'ETag');
      assert.match(ok.headers.get('vary') ?? '', /Origin/);
      const wildcard = await preflight('/cors/x', {
        origin: 'http://shop.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'Range',
      });
      assert.equal(wildcard.status, 200);
      for (const [headers, why] of [
        [{ origin: 'https://evil.example.net', 'access-control-request-method': 'GET' }, 'origin'],
        [{ origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }, 'method'],
        [
          {
            origin: 'http://shop.example.org',
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'x-custom',
          },
          'header',
        ],
      ] as const) {
        const denied = await preflight('/cors/x', headers);
        assert.equal(denied.status, 403, why);
        assert.match(
          await denied.text(),
          /<Code>AccessForbidden<\/Code><Message>CORSResponse: This CORS request is not allowed/,
        );
        assert.equal(denied.headers.get('access-control-allow-origin'), null);
      }
      const noOrigin = await preflight('/cors/x', { 'access-control-request-method': 'GET' });
      assert.equal(noOrigin.status, 400);
      const notEnabled = await preflight('/tags/t', {
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
      });
      assert.equal(notEnabled.status, 403);
      assert.match(await notEnabled.text(), /CORS is not enabled for this bucket/);

      // A browser upload: preflight (above) then a presigned PUT carrying Origin.
      const url = new URL(target.url);
      const query = presignRequest({
        method: 'PUT',
        path: '/cors/upload.bin',
        headers: { host: url.host },
        credentials: target.owner.credentials,
        region: target.region,
        service: 's3',
        expiresIn: 300,
      });
      const upload = await fetch(`${target.url}/cors/upload.bin?${query}`, {
        method: 'PUT',
        headers: { origin: 'https://app.example.com', 'content-type': 'application/octet-stream' },
        body: 'from the browser',
      });
      assert.equal(upload.status, 200, await upload.clone().text());
      assert.equal(upload.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(upload.headers.get('access-control-expose-headers'), 'ETag');
      const stored = await s3.send(new GetObjectCommand({ Bucket: 'cors', Key: 'upload.bin' }));
      assert.equal(await text(stored.Body), 'from the browser');
      // A signed GET from an origin no rule allows gets its answer without CORS headers.
      const foreign = await signedFetch({
        method: 'GET',
        path: '/cors/upload.bin',
        headers: { origin: 'https://evil.example.net' },
        credentials: target.owner.credentials,
      });
      assert.equal(foreign.status, 200);
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
      await foreign.arrayBuffer();

      await s3.send(new DeleteBucketCorsCommand({ Bucket: 'cors' }));
      await expectS3Error(
        s3.send(new GetBucketCorsCommand({ Bucket: 'cors' })),
        404,
        'NoSuchCORSConfiguration',
      );
      const gone = await preflight('/cors/upload.bin', {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
      });
      assert.equal(gone.status, 403);
    });

    it('stores the verified checksum and returns it with ChecksumMode ENABLED (whole object only)', async () => {
      // The SDK's default: a CRC32 header.
      await s3.send(new PutObjectCommand({ Bucket: 'sums', Key: 'default', Body: 'hello checksums' }));
      const crc32 = checksumOf('CRC32', Buffer.from('hello checksums'));
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'sums', Key: 'default', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(got.ChecksumCRC32, crc32);
      assert.equal(got.ChecksumType, 'FULL_OBJECT');
      assert.equal(await text(got.Body), 'hello checksums');
      // (the SDK asks for checksums by default; a raw request without x-amz-checksum-mode gets none)
      const plain = await signedFetch({
        method: 'GET',
        path: '/sums/default',
        credentials: target.owner.credentials,
      });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get('x-amz-checksum-crc32'), null);
      assert.equal(await plain.text(), 'hello checksums');
      const ranged = await s3.send(
        new GetObjectCommand({ Bucket: 'sums', Key: 'default', ChecksumMode: 'ENABLED', Range: 'bytes=0-4' }),
      );
      assert.equal(ranged.ChecksumCRC32, undefined);
      assert.equal(await text(ranged.Body), 'hello');

      // SHA256 of a streamed body: the SDK sends it as an aws-chunked trailer.
      const data = Buffer.alloc(200_000, 7);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'sums',
          Key: 'streamed',
          Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
          ContentLength: data.length,
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      const sha256 = createHash('sha256').update(data).digest('base64');
      assert.equal(put.ChecksumSHA256, sha256);
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: 'sums', Key: 'streamed', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head.ChecksumSHA256, sha256);
      const full = await s3.send(
        new GetObjectCommand({ Bucket: 'sums', Key: 'streamed', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(full.ChecksumSHA256, sha256);
      assert.equal((await full.Body?.transformToByteArray())?.length, data.length);

      await s3.send(
        new PutObjectCommand({
          Bucket: 'sums',
          Key: 'c32c',
          Body: 'castagnoli',
          ChecksumAlgorithm: 'CRC32C',
        }),
      );
      const c = await s3.send(
        new HeadObjectCommand({ Bucket: 'sums', Key: 'c32c', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(c.ChecksumCRC32C, checksumOf('CRC32C', Buffer.from('castagnoli')));

      // Without any checksum from the client, none is stored (see docs/s3-api.md).
      const bare = await signedFetch({
        method: 'PUT',
        path: '/sums/bare',
        body: 'no checksum',
        credentials: target.owner.credentials,
      });
      assert.equal(bare.status, 200);
      const none = await s3.send(
        new HeadObjectCommand({ Bucket: 'sums', Key: 'bare', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(none.ChecksumCRC32, undefined);
      assert.equal(none.ChecksumSHA256, undefined);
      // A wrong checksum is refused and stores nothing.
      const wrong = await signedFetch({
        method: 'PUT',
        path: '/sums/wrong',
        body: 'payload',
        headers: { 'x-amz-checksum-crc32': checksumOf('CRC32', Buffer.from('other')) },
        credentials: target.owner.credentials,
      });
      assert.equal(wrong.status, 400);
      assert.match(await wrong.text(), /<Code>BadDigest<\/Code>/);
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: 'wrong' })), 404);
    });
  });
}
