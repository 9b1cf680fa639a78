// Real SigV4-signed requests turned into Lambda events (function URL payload v2, ALB single- and
// multi-value), checked against @aws-lambda-powertools/parser's schemas, and run through the
// Lambda gateway over a filesystem backend: PUT, streamed binary GET, Range, HEAD, ListObjectsV2,
// errors, size limits, and the host clients signed against.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AlbMultiValueHeadersSchema, AlbSchema } from '@aws-lambda-powertools/parser/schemas/alb';
import { LambdaFunctionUrlSchema } from '@aws-lambda-powertools/parser/schemas/lambda';
import type { ALBResult, Context } from 'aws-lambda';
import { FilesystemBackend } from '../../../gateway/backend/filesystem/index.ts';
import type { Backend } from '../../../gateway/backend/types.ts';
import { createLambdaGateway } from '../../../gateway/lambda/lambda-gateway.ts';
import type { LambdaGateway } from '../../../gateway/lambda/lambda-gateway.ts';
import { functionUrlEvent } from '../../../gateway/lambda/emulator/function-url-event.ts';
import { albEvent } from '../../../gateway/lambda/emulator/alb-event.ts';
import { MAX_ALB_RESPONSE_BODY, MAX_REQUEST_BODY } from '../../../gateway/lambda/limits.ts';
import { parseConfig } from '../../../shared/config/index.ts';
import { signRequest } from '../../../shared/sigv4/index.ts';
import { ACCOUNTS, REGION, configToml } from '../gateway/harness.ts';

const URL_HOST = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws';
const ALB_HOST = 'predastore-123456789.us-east-1.elb.amazonaws.com';
const CONTEXT = { awsRequestId: 'test' } as unknown as Context;

interface Req {
  method: string;
  path: string;
  query?: string;
  body?: Buffer;
  headers?: Record<string, string>;
  host: string;
  /** Sign against this host while sending `host` (a proxy rewrote it). */
  signedHost?: string;
  /** Sent but not signed. */
  unsignedHeaders?: Record<string, string>;
}

function signedParts(req: Req): {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
} {
  const body = req.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { host: req.signedHost ?? req.host, ...(req.headers ?? {}) };
  if (body.length > 0) headers['content-length'] = String(body.length);
  const signed = signRequest({
    method: req.method,
    path: req.path,
    query: req.query ?? '',
    headers,
    payloadHash: createHash('sha256').update(body).digest('hex'),
    credentials: { accessKeyId: ACCOUNTS.alice.accessKeyId, secretAccessKey: ACCOUNTS.alice.secretAccessKey },
    region: REGION,
    service: 's3',
  });
  const all = { ...headers, ...signed.headers, host: req.host, ...(req.unsignedHeaders ?? {}) };
  return {
    method: req.method,
    url: req.path + (req.query ? `?${req.query}` : ''),
    rawHeaders: Object.entries(all).flat(),
    body,
    sourceIp: '203.0.113.7',
  };
}

async function streamBytes(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

describe('Lambda events through the gateway (filesystem backend)', () => {
  let dir: string;
  let gw: LambdaGateway;
  let customDomainGw: LambdaGateway;
  const object = randomBytes(300 * 1024 + 5);
  // Every byte value, so a UTF-8 round trip anywhere would corrupt it.
  object.set(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 0);

  async function viaUrl(
    req: Req,
    gateway = gw,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const event = functionUrlEvent({ ...signedParts(req), domainName: URL_HOST });
    LambdaFunctionUrlSchema.parse(event);
    const { meta, stream } = await gateway.functionUrl(event, CONTEXT);
    return { status: meta.statusCode, headers: meta.headers, body: await streamBytes(stream) };
  }

  async function viaAlb(req: Req, multiValue: boolean): Promise<ALBResult> {
    const event = albEvent(signedParts(req), multiValue);
    (multiValue ? AlbMultiValueHeadersSchema : AlbSchema).parse(event);
    return gw.alb(event, CONTEXT);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'predastore-lambda-events-'));
    const config = parseConfig(configToml(join(dir, 'data')), 'test.toml');
    gw = createLambdaGateway({
      config,
      backend: await FilesystemBackend.open({ basePath: config.basePath }),
    });
    customDomainGw = createLambdaGateway({
      config,
      backend: await FilesystemBackend.open({ basePath: config.basePath }),
      signedHost: 's3.example.com',
    });
    const created = await viaUrl({ method: 'PUT', path: '/events', host: URL_HOST });
    assert.equal(created.status, 200, created.body.toString());
  });
  after(async () => {
    await gw?.close();
    await customDomainGw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('function URL: PUT binary, GET streamed bit-exact, Range, HEAD, ListObjectsV2, NoSuchKey', async () => {
    const put = await viaUrl({
      method: 'PUT',
      path: '/events/dir/bin%20file',
      body: object,
      headers: { 'content-type': 'application/octet-stream' },
      host: URL_HOST,
    });
    assert.equal(put.status, 200, put.body.toString());
    assert.equal(put.headers['etag'], `"${createHash('md5').update(object).digest('hex')}"`);

    const get = await viaUrl({ method: 'GET', path: '/events/dir/bin%20file', host: URL_HOST });
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-length'], String(object.length));
    assert.ok(get.body.equals(object), 'GET body is bit-exact');

    const range = await viaUrl({
      method: 'GET',
      path: '/events/dir/bin%20file',
      headers: { range: 'bytes=100-65636' },
      host: URL_HOST,
    });
    assert.equal(range.status, 206);
    assert.equal(range.headers['content-range'], `bytes 100-65636/${object.length}`);
    assert.ok(range.body.equals(object.subarray(100, 65637)));

    const head = await viaUrl({ method: 'HEAD', path: '/events/dir/bin%20file', host: URL_HOST });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(object.length));
    assert.equal(head.body.length, 0);

    // Encoded query values and a comma, which the adapter library would otherwise split.
    const list = await viaUrl({
      method: 'GET',
      path: '/events',
      query: 'list-type=2&prefix=dir%2Fbin&start-after=a%2Cb',
      host: URL_HOST,
    });
    assert.equal(list.status, 200, list.body.toString());
    assert.match(list.body.toString(), /<Key>dir\/bin file<\/Key>/);
    assert.match(list.body.toString(), /<KeyCount>1<\/KeyCount>/);

    const missing = await viaUrl({ method: 'GET', path: '/events/nope', host: URL_HOST });
    assert.equal(missing.status, 404);
    assert.match(missing.body.toString(), /<Code>NoSuchKey<\/Code>/);
  });

  it('function URL: bodies over the limit get EntityTooLarge naming the long-running gateway', async () => {
    const size = MAX_REQUEST_BODY['function-url'] + 1;
    const response = await viaUrl({
      method: 'PUT',
      path: '/events/big',
      body: Buffer.alloc(size, 7),
      host: URL_HOST,
    });
    assert.equal(response.status, 400);
    const text = response.body.toString();
    assert.match(text, /<Code>EntityTooLarge<\/Code>/);
    assert.match(text, /long-running gateway/);
    assert.match(text, new RegExp(`<MaxSizeAllowed>${MAX_REQUEST_BODY['function-url']}</MaxSizeAllowed>`));
    const head = await viaUrl({ method: 'HEAD', path: '/events/big', host: URL_HOST });
    assert.equal(head.status, 404);
  });

  it('signature host: clients sign the host they call; a custom domain is configured', async () => {
    const wrongHost = await viaUrl({
      method: 'GET',
      path: '/events/dir/bin%20file',
      host: URL_HOST,
      signedHost: 's3.example.com',
    });
    assert.equal(wrongHost.status, 403);
    assert.match(wrongHost.body.toString(), /SignatureDoesNotMatch/);
    const custom = await viaUrl(
      { method: 'GET', path: '/events/dir/bin%20file', host: URL_HOST, signedHost: 's3.example.com' },
      customDomainGw,
    );
    assert.equal(custom.status, 200);
    assert.ok(custom.body.equals(object));
  });

  for (const multiValue of [false, true]) {
    const mode = multiValue ? 'multi-value' : 'single-value';
    it(`ALB (${mode} headers): base64 both ways, bit-exact, limits on request and response`, async () => {
      const small = object.subarray(0, 200 * 1024);
      const put = await viaAlb(
        { method: 'PUT', path: `/events/alb-${mode}`, body: small, host: ALB_HOST },
        multiValue,
      );
      assert.equal(put.statusCode, 200, put.body);
      const headersOf = (r: ALBResult): Record<string, string> =>
        multiValue
          ? Object.fromEntries(Object.entries(r.multiValueHeaders ?? {}).map(([k, v]) => [k, String(v[0])]))
          : (r.headers as Record<string, string>);
      if (multiValue) assert.equal(put.headers, undefined);
      assert.equal(headersOf(put)['etag'], `"${createHash('md5').update(small).digest('hex')}"`);

      const get = await viaAlb({ method: 'GET', path: `/events/alb-${mode}`, host: ALB_HOST }, multiValue);
      assert.equal(get.statusCode, 200);
      assert.equal(get.isBase64Encoded, true);
      assert.ok(Buffer.from(get.body ?? '', 'base64').equals(small), 'ALB GET body is bit-exact');

      const list = await viaAlb(
        { method: 'GET', path: '/events', query: 'list-type=2&prefix=alb-', host: ALB_HOST },
        multiValue,
      );
      assert.equal(list.statusCode, 200, Buffer.from(list.body ?? '', 'base64').toString());
      assert.match(Buffer.from(list.body ?? '', 'base64').toString(), new RegExp(`<Key>alb-${mode}</Key>`));

      const tooBig = await viaAlb(
        {
          method: 'PUT',
          path: `/events/alb-big-${mode}`,
          body: Buffer.alloc(MAX_REQUEST_BODY.alb + 1),
          host: ALB_HOST,
        },
        multiValue,
      );
      assert.equal(tooBig.statusCode, 400);
      assert.match(Buffer.from(tooBig.body ?? '', 'base64').toString(), /<Code>EntityTooLarge<\/Code>/);

      // The 300 KiB object fits; a larger one must be read in ranges through the ALB.
      assert.ok(object.length <= MAX_ALB_RESPONSE_BODY);
    });
  }

  it('keys with . and .. segments keep them on both doors; a client cannot inject the internal URL header', async () => {
    const body = randomBytes(1000);
    const key = 'dots/a/../b/./c/..';
    const put = await viaUrl({ method: 'PUT', path: `/events/${key}`, body, host: URL_HOST });
    assert.equal(put.status, 200, put.body.toString());
    const list = await viaUrl({
      method: 'GET',
      path: '/events',
      query: 'list-type=2&prefix=dots%2F',
      host: URL_HOST,
    });
    assert.match(list.body.toString(), /<Key>dots\/a\/\.\.\/b\/\.\/c\/\.\.<\/Key>/);
    assert.match(list.body.toString(), /<KeyCount>1<\/KeyCount>/);
    for (const multiValue of [false, true]) {
      const get = await viaAlb({ method: 'GET', path: `/events/${key}`, host: ALB_HOST }, multiValue);
      assert.equal(get.statusCode, 200);
      assert.ok(Buffer.from(get.body ?? '', 'base64').equals(body));
    }
    const normalised = await viaUrl({ method: 'GET', path: '/events/dots/b', host: URL_HOST });
    assert.equal(normalised.status, 404);
    // A forged internal header is dropped: the request is served for the URL that was signed and sent.
    const forged = await viaUrl({
      method: 'GET',
      path: `/events/${key}`,
      unsignedHeaders: { 'x-predastore-lambda-url': encodeURIComponent('/events/dir/bin%20file') },
      host: URL_HOST,
    });
    assert.equal(forged.status, 200, forged.body.toString());
    assert.ok(forged.body.equals(body));
  });

  it('function URL: a slow reader holds the backend back (response back-pressure)', async () => {
    const config = parseConfig(configToml(join(dir, 'backpressure')), 'test.toml');
    const fs = await FilesystemBackend.open({ basePath: config.basePath });
    await fs.createBucket('events', ACCOUNTS.alice.accountId, '');
    let served = 0;
    const backend: Backend = Object.assign(Object.create(fs) as Backend, {
      async getObject(...args: Parameters<Backend['getObject']>) {
        const result = await fs.getObject(...args);
        const body = result.body;
        return {
          ...result,
          body: (async function* () {
            for await (const piece of body) {
              served += piece.length;
              yield piece;
            }
          })(),
        };
      },
    });
    const slowGw = createLambdaGateway({ config, backend });
    try {
      const big = randomBytes(48 * 1024 * 1024);
      await fs.putObject({
        bucket: 'events',
        key: 'backpressure',
        body: (async function* () {
          yield big;
        })(),
        metadata: { contentType: 'application/octet-stream', userMetadata: {} },
      });
      const event = functionUrlEvent({
        ...signedParts({ method: 'GET', path: '/events/backpressure', host: URL_HOST }),
        domainName: URL_HOST,
      });
      const { meta, stream } = await slowGw.functionUrl(event, CONTEXT);
      assert.equal(meta.statusCode, 200);
      const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const parts: Buffer[] = [Buffer.from((await iterator.next()).value as Buffer)];
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.ok(served < 16 * 1024 * 1024, `backend served ${served} bytes to a reader that took one piece`);
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
        parts.push(Buffer.from(next.value));
      assert.ok(Buffer.concat(parts).equals(big), 'the whole body arrives bit-exact');
    } finally {
      await slowGw.close();
    }
  });

  it('ALB: a response over the buffered limit is refused with a clear error; ranges still work', async () => {
    const large = randomBytes(MAX_ALB_RESPONSE_BODY + 1000);
    const put = await viaUrl({ method: 'PUT', path: '/events/alb-large', body: large, host: URL_HOST });
    assert.equal(put.status, 200);
    const get = await viaAlb({ method: 'GET', path: '/events/alb-large', host: ALB_HOST }, false);
    assert.equal(get.statusCode, 400);
    const text = Buffer.from(get.body ?? '', 'base64').toString();
    assert.match(text, /<Code>EntityTooLarge<\/Code>/);
    assert.match(text, /Range requests/);
    assert.equal(get.headers?.['etag'], undefined);
    const part = await viaAlb(
      { method: 'GET', path: '/events/alb-large', headers: { range: 'bytes=0-99999' }, host: ALB_HOST },
      false,
    );
    assert.equal(part.statusCode, 206);
    assert.ok(Buffer.from(part.body ?? '', 'base64').equals(large.subarray(0, 100000)));
  });
});
