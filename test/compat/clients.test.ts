// Compatibility with real S3 clients: a real `s3d -backend distributed` dev cluster (3 s3db + 5
// appliances, RS(3,2)) driven by the Debian packages of the AWS CLI v2, s3cmd and rclone.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3dRun, childrenOf, freePortBlock, roleOf } from '../integration/cluster/harness.ts';

const KEY = { accessKeyId: 'COMPATKEY', secretAccessKey: 'compat-test-secret' };
const DB_KEY = { accessKeyId: 'COMPATDB', secretAccessKey: 'compat-test-db-secret' };
const REGION = 'us-east-1';
const AWS = '/usr/bin/aws';
const MiB = 1 << 20;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client; never throws on a non-zero exit (the caller asserts). Bounded by `timeoutMs`. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Result> {
  return new Promise((done) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 * MiB }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function ok(result: Result, what: string): string {
  assert.equal(result.code, 0, `${what} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('real S3 clients against an s3d dev cluster', () => {
  let dir = '';
  let endpoint = '';
  let cluster: S3dRun | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pd-compat-'));
    const ports = await freePortBlock(5, 11);
    const lines = [`base_path = ${JSON.stringify(join(dir, 'data'))}`, '[rs]', 'data = 3', 'parity = 2'];
    lines.push('[store]', 'volume_size_mb = 64');
    [1, 2, 3].forEach((id, i) =>
      lines.push(
        '[[db]]',
        `id = ${id}`,
        'host = "127.0.0.1"',
        `port = ${ports[i]}`,
        `raft_port = ${ports[i + 3]}`,
        `access_key_id = "${DB_KEY.accessKeyId}"`,
        `secret_access_key = "${DB_KEY.secretAccessKey}"`,
      ),
    );
    [1, 2, 3, 4, 5].forEach((id, i) =>
      lines.push('[[nodes]]', `id = ${id}`, 'host = "127.0.0.1"', `port = ${ports[i + 6]}`),
    );
    lines.push(
      '[[auth]]',
      `access_key_id = "${KEY.accessKeyId}"`,
      `secret_access_key = "${KEY.secretAccessKey}"`,
      'policy = [{ bucket = "*", actions = ["s3:*"] }]',
    );
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    await mkdir(join(dir, 'home'));
    cluster = new S3dRun(['-backend', 'distributed', '-config', configPath, '-port', '0'], dir);
    const ready = await cluster.waitForLine(/^s3d: ready: S3 endpoint (http:\/\/127\.0\.0\.1:\d+)/, 150_000);
    endpoint = ready[1] ?? '';
    // The dev cluster really is 3 s3db + 5 appliances, each its own child process.
    const roles = (await childrenOf(cluster.pid))
      .map((child) => roleOf(child.args))
      .filter((role) => role !== undefined)
      .sort();
    assert.deepEqual(roles, ['node 1', 'node 2', 'node 3', 'node 4', 'node 5', 's3db 1', 's3db 2', 's3db 3']);
  });

  after(async () => {
    if (cluster !== undefined) {
      cluster.kill('SIGTERM');
      const timer = setTimeout(() => cluster?.kill('SIGKILL'), 20_000);
      const exit = await cluster.exited;
      clearTimeout(timer);
      assert.deepEqual(exit, { code: 0, signal: null }, `s3d did not stop cleanly:\n${cluster.output}`);
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** Environment with no user configuration leaking in. */
  function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(dir, 'home'), LANG: 'C.UTF-8' };
    return { ...env, ...extra };
  }

  describe('aws cli', () => {
    const awsEnv = (secret = KEY.secretAccessKey): NodeJS.ProcessEnv =>
      cleanEnv({
        AWS_ACCESS_KEY_ID: KEY.accessKeyId,
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(dir, 'home', 'aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'home', 'aws-credentials'),
        AWS_PAGER: '',
      });
    const aws = (args: string[], secret?: string): Promise<Result> =>
      run(AWS, ['--endpoint-url', endpoint, '--region', REGION, ...args], awsEnv(secret));

    it('aws s3 mb / cp up and down (bit-exact) / ls / rm', async () => {
      const work = join(dir, 'aws-s3');
      await mkdir(work);
      ok(await aws(['s3', 'mb', 's3://aws-bucket']), 'aws s3 mb');
      // twenty.bin is above aws cli's 8 MiB multipart threshold: three parts, the last one short.
      const files = {
        'small.txt': randomBytes(1234),
        'five.bin': randomBytes(5 * MiB + 17),
        'twenty.bin': randomBytes(20 * MiB + 3),
      };
      for (const [name, data] of Object.entries(files)) {
        await writeFile(join(work, name), data);
        ok(await aws(['s3', 'cp', join(work, name), `s3://aws-bucket/dir/${name}`]), `aws s3 cp up ${name}`);
      }
      const head = JSON.parse(
        ok(await aws(['s3api', 'head-object', '--bucket', 'aws-bucket', '--key', 'dir/twenty.bin']), 'head'),
      ) as { ETag: string; ContentLength: number };
      assert.match(head.ETag, /^"[0-9a-f]{32}-3"$/, 'a multipart ETag of three parts');
      assert.equal(head.ContentLength, 20 * MiB + 3);
      // Server-side copy (CopyObject), then the copy downloads like the original.
      ok(
        await aws(['s3', 'cp', 's3://aws-bucket/dir/twenty.bin', 's3://aws-bucket/copies/twenty.bin']),
        'aws s3 cp s3 -> s3',
      );
      const copied = join(work, 'copied-twenty.bin');
      ok(await aws(['s3', 'cp', 's3://aws-bucket/copies/twenty.bin', copied]), 'aws s3 cp down the copy');
      assert.equal(sha256(await readFile(copied)), sha256(files['twenty.bin']), 'copy round trip');
      for (const [name, data] of Object.entries(files)) {
        const back = join(work, `back-${name}`);
        ok(await aws(['s3', 'cp', `s3://aws-bucket/dir/${name}`, back]), `aws s3 cp down ${name}`);
        assert.equal(sha256(await readFile(back)), sha256(data), `${name} round trip`);
      }
      const buckets = ok(await aws(['s3', 'ls']), 'aws s3 ls');
      assert.match(buckets, /\baws-bucket\b/);
      const top = ok(await aws(['s3', 'ls', 's3://aws-bucket/']), 'aws s3 ls bucket');
      assert.match(top, /PRE dir\//);
      const listing = ok(await aws(['s3', 'ls', 's3://aws-bucket/dir/']), 'aws s3 ls prefix');
      assert.match(listing, /\s1234 small\.txt/);
      assert.match(listing, new RegExp(`\\s${5 * MiB + 17} five\\.bin`));
      ok(await aws(['s3', 'rm', 's3://aws-bucket/dir/small.txt']), 'aws s3 rm');
      const after = ok(await aws(['s3', 'ls', 's3://aws-bucket/dir/']), 'aws s3 ls after rm');
      assert.doesNotMatch(after, /small\.txt/);
      assert.match(after, /five\.bin/);
    });

    it('aws s3api put / head / ranged get / list-objects-v2 / delete', async () => {
      const work = join(dir, 'aws-api');
      await mkdir(work);
      ok(await aws(['s3api', 'create-bucket', '--bucket', 'api-bucket']), 'create-bucket');
      const body = randomBytes(100_000);
      await writeFile(join(work, 'body'), body);
      const put = JSON.parse(
        ok(
          await aws([
            's3api',
            'put-object',
            '--bucket',
            'api-bucket',
            '--key',
            'a/b/obj.bin',
            '--body',
            join(work, 'body'),
            '--content-type',
            'application/x-compat',
            '--metadata',
            'colour=blue,owner=compat',
          ]),
          'put-object',
        ),
      ) as { ETag: string };
      const md5 = createHash('md5').update(body).digest('hex');
      assert.equal(put.ETag, `"${md5}"`);
      for (const key of ['a/c.txt', 'a/b/d.txt', 'z.txt']) {
        ok(
          await aws([
            's3api',
            'put-object',
            '--bucket',
            'api-bucket',
            '--key',
            key,
            '--body',
            join(work, 'body'),
          ]),
          `put-object ${key}`,
        );
      }
      const head = JSON.parse(
        ok(
          await aws(['s3api', 'head-object', '--bucket', 'api-bucket', '--key', 'a/b/obj.bin']),
          'head-object',
        ),
      ) as { ContentLength: number; ContentType: string; ETag: string; Metadata: Record<string, string> };
      assert.equal(head.ContentLength, body.length);
      assert.equal(head.ContentType, 'application/x-compat');
      assert.equal(head.ETag, `"${md5}"`);
      assert.deepEqual(head.Metadata, { colour: 'blue', owner: 'compat' });

      const rangeOut = join(work, 'range');
      const ranged = JSON.parse(
        ok(
          await aws([
            's3api',
            'get-object',
            '--bucket',
            'api-bucket',
            '--key',
            'a/b/obj.bin',
            '--range',
            'bytes=1000-65999',
            rangeOut,
          ]),
          'get-object --range',
        ),
      ) as { ContentLength: number; ContentRange: string };
      assert.equal(ranged.ContentLength, 65_000);
      assert.equal(ranged.ContentRange, `bytes 1000-65999/${body.length}`);
      assert.deepEqual(await readFile(rangeOut), body.subarray(1000, 66_000));

      const listed = JSON.parse(
        ok(
          await aws([
            's3api',
            'list-objects-v2',
            '--bucket',
            'api-bucket',
            '--prefix',
            'a/',
            '--delimiter',
            '/',
          ]),
          'list-objects-v2',
        ),
      ) as { Contents?: { Key: string }[]; CommonPrefixes?: { Prefix: string }[]; KeyCount: number };
      assert.deepEqual(
        (listed.Contents ?? []).map((c) => c.Key),
        ['a/c.txt'],
      );
      assert.deepEqual(
        (listed.CommonPrefixes ?? []).map((p) => p.Prefix),
        ['a/b/'],
      );

      ok(
        await aws(['s3api', 'delete-object', '--bucket', 'api-bucket', '--key', 'a/b/obj.bin']),
        'delete-object',
      );
      const gone = await aws(['s3api', 'head-object', '--bucket', 'api-bucket', '--key', 'a/b/obj.bin']);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /404|Not Found/);
    });

    it('a wrong secret fails with SignatureDoesNotMatch', async () => {
      const result = await aws(['s3api', 'list-objects-v2', '--bucket', 'api-bucket'], 'not-the-secret');
      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, /SignatureDoesNotMatch/);
    });
  });

  describe('s3cmd', () => {
    it('mb / put / get / ls / info / del', async () => {
      const work = join(dir, 's3cmd');
      await mkdir(work);
      const host = endpoint.replace(/^http:\/\//, '');
      const cfg = join(work, 's3cfg');
      await writeFile(
        cfg,
        [
          '[default]',
          `access_key = ${KEY.accessKeyId}`,
          `secret_key = ${KEY.secretAccessKey}`,
          `host_base = ${host}`,
          `host_bucket = ${host}`,
          `bucket_location = ${REGION}`,
          'use_https = False',
          'signature_v2 = False',
          'check_ssl_certificate = False',
          '',
        ].join('\n'),
      );
      const s3cmd = (args: string[]): Promise<Result> => run('s3cmd', ['-c', cfg, ...args], cleanEnv());
      ok(await s3cmd(['mb', 's3://cmd-bucket']), 's3cmd mb');
      const files = {
        'one.txt': randomBytes(777),
        'big.bin': randomBytes(3 * MiB + 5),
        'multi.bin': randomBytes(12 * MiB + 9),
      };
      for (const [name, data] of Object.entries(files)) {
        await writeFile(join(work, name), data);
        // multi.bin goes up in 5 MiB parts (multipart upload); the others in one PUT.
        const mode = name === 'multi.bin' ? ['--multipart-chunk-size-mb=5'] : ['--disable-multipart'];
        ok(await s3cmd(['put', ...mode, join(work, name), `s3://cmd-bucket/p/${name}`]), `s3cmd put ${name}`);
      }
      for (const [name, data] of Object.entries(files)) {
        const back = join(work, `back-${name}`);
        ok(await s3cmd(['get', '--force', `s3://cmd-bucket/p/${name}`, back]), `s3cmd get ${name}`);
        assert.equal(sha256(await readFile(back)), sha256(data), `${name} round trip`);
      }
      assert.match(ok(await s3cmd(['ls']), 's3cmd ls'), /s3:\/\/cmd-bucket/);
      const listing = ok(await s3cmd(['ls', 's3://cmd-bucket/p/']), 's3cmd ls prefix');
      assert.match(listing, /\s777\s+s3:\/\/cmd-bucket\/p\/one\.txt/);
      assert.match(listing, new RegExp(`\\s${3 * MiB + 5}\\s+s3://cmd-bucket/p/big\\.bin`));
      const info = ok(await s3cmd(['info', 's3://cmd-bucket/p/one.txt']), 's3cmd info');
      assert.match(info, /File size:\s+777/);
      assert.match(
        info,
        new RegExp(`MD5 sum:\\s+${createHash('md5').update(files['one.txt']).digest('hex')}`),
      );
      ok(await s3cmd(['del', 's3://cmd-bucket/p/one.txt']), 's3cmd del');
      const after = ok(await s3cmd(['ls', 's3://cmd-bucket/p/']), 's3cmd ls after del');
      assert.doesNotMatch(after, /one\.txt/);
      assert.match(after, /big\.bin/);
    });
  });

  describe('rclone', () => {
    it('copy / check / sync / check / delete / purge of a directory tree', async () => {
      const work = join(dir, 'rclone');
      const tree = join(work, 'tree');
      const conf = join(work, 'rclone.conf');
      await mkdir(work);
      await writeFile(
        conf,
        [
          '[pd]',
          'type = s3',
          'provider = Other',
          'env_auth = false',
          `access_key_id = ${KEY.accessKeyId}`,
          `secret_access_key = ${KEY.secretAccessKey}`,
          `endpoint = ${endpoint}`,
          `region = ${REGION}`,
          'force_path_style = true',
          '',
        ].join('\n'),
      );
      const env = cleanEnv();
      const rclone = (args: string[]): Promise<Result> =>
        run(
          'rclone',
          [
            '--config',
            conf,
            '--s3-upload-cutoff',
            '200M',
            '--retries',
            '1',
            '--low-level-retries',
            '2',
            ...args,
          ],
          env,
          90_000,
        );
      const paths: string[] = [];
      for (let i = 0; i < 50; i++) paths.push(`d${i % 4}/s${i % 3}/f${i}.txt`);
      paths.push('big/one.bin', 'big/two.bin', 'top.txt');
      for (const [i, path] of paths.entries()) {
        await mkdir(join(tree, path, '..'), { recursive: true });
        const size =
          path === 'big/one.bin' ? MiB + 3 : path === 'big/two.bin' ? 3 * MiB - 7 : 10 + ((i * 37) % 900);
        await writeFile(join(tree, path), randomBytes(size));
      }
      ok(await rclone(['mkdir', 'pd:rc-bucket']), 'rclone mkdir');
      ok(await rclone(['copy', tree, 'pd:rc-bucket/tree']), 'rclone copy');
      const check = await rclone(['check', tree, 'pd:rc-bucket/tree']);
      ok(check, 'rclone check');
      assert.match(check.stderr, /0 differences found/);
      assert.match(check.stderr, new RegExp(`${paths.length} matching files`));

      await writeFile(join(tree, 'd0/s0/f0.txt'), randomBytes(321));
      await writeFile(join(tree, 'big/two.bin'), randomBytes(2 * MiB));
      await unlink(join(tree, 'd1/s1/f1.txt'));
      await unlink(join(tree, 'top.txt'));
      await writeFile(join(tree, 'd3/new.txt'), randomBytes(99));
      const stale = await rclone(['check', tree, 'pd:rc-bucket/tree']);
      assert.notEqual(stale.code, 0, 'check sees the local changes');
      ok(await rclone(['sync', tree, 'pd:rc-bucket/tree']), 'rclone sync');
      const synced = await rclone(['check', tree, 'pd:rc-bucket/tree']);
      ok(synced, 'rclone check after sync');
      assert.match(synced.stderr, /0 differences found/);
      assert.match(synced.stderr, new RegExp(`${paths.length - 1} matching files`));

      ok(await rclone(['delete', 'pd:rc-bucket/tree/d2']), 'rclone delete');
      const left = ok(await rclone(['lsf', '-R', '--files-only', 'pd:rc-bucket/tree']), 'rclone lsf');
      assert.doesNotMatch(left, /^d2\//m);
      assert.match(left, /^d3\/new\.txt$/m);
      ok(await rclone(['purge', 'pd:rc-bucket']), 'rclone purge');
      const buckets = ok(await rclone(['lsd', 'pd:']), 'rclone lsd');
      assert.doesNotMatch(buckets, /rc-bucket/);
    });
  });
});
