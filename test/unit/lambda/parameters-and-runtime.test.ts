import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ParameterError, parameterReader } from '../../../gateway/lambda/parameters.ts';
import {
  localRuntime,
  isStreamified,
  PRELUDE_DELIMITER,
} from '../../../gateway/lambda/emulator/streaming-runtime.ts';
import { startFunctionUrlEmulator } from '../../../gateway/lambda/emulator/server.ts';

describe('SSM parameters through the extension API', () => {
  let server: Server;
  let endpoint: string;
  const seen: Array<{ url: string; token: string | undefined }> = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push({
        url: req.url ?? '',
        token: req.headers['x-aws-parameters-secrets-token'] as string | undefined,
      });
      const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name');
      if (name === '/p/config') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Parameter: { Name: name, Value: 'region = "us-east-1"' } }));
      } else {
        res.writeHead(400);
        res.end('ParameterNotFound');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads a decrypted value with the session token', async () => {
    const read = parameterReader({ endpoint, sessionToken: 'tok' });
    assert.equal(await read('/p/config'), 'region = "us-east-1"');
    const last = seen.at(-1);
    assert.equal(last?.token, 'tok');
    assert.match(
      last?.url ?? '',
      /^\/systemsmanager\/parameters\/get\?name=%2Fp%2Fconfig&withDecryption=true$/,
    );
  });

  it('fails clearly: missing token, unknown parameter, unreachable extension', async () => {
    await assert.rejects(
      parameterReader({ endpoint, sessionToken: undefined })('/p/config'),
      /AWS_SESSION_TOKEN/,
    );
    await assert.rejects(parameterReader({ endpoint, sessionToken: 't' })('/p/missing'), ParameterError);
    await assert.rejects(
      parameterReader({ endpoint: 'http://127.0.0.1:1', sessionToken: 't', timeoutMs: 2000 })('/p/config'),
      /cannot reach/,
    );
  });
});

describe('local streaming runtime and emulator', () => {
  it('writes the prelude as JSON + 8 NUL bytes, and the emulator turns it into status, headers and body', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const out = localRuntime.HttpResponseStream.from(sink, { statusCode: 201, headers: { a: 'b' } });
    out.write('body');
    const all = Buffer.concat(chunks);
    const end = all.indexOf(PRELUDE_DELIMITER);
    assert.deepEqual(JSON.parse(all.subarray(0, end).toString()), { statusCode: 201, headers: { a: 'b' } });
    assert.equal(all.subarray(end + 8).toString(), 'body');

    const handler = localRuntime.streamifyResponse(async (event: { rawPath: string }, stream: Writable) => {
      const body = localRuntime.HttpResponseStream.from(stream, {
        statusCode: 207,
        headers: { 'x-path': event.rawPath },
        cookies: ['c=1'],
      });
      body.write(Buffer.alloc(100_000, 1));
      body.end('!');
    });
    assert.ok(isStreamified(handler));
    const emulator = await startFunctionUrlEmulator({ handler });
    try {
      const response = await fetch(`${emulator.url}/some/path?q=1`);
      assert.equal(response.status, 207);
      assert.equal(response.headers.get('x-path'), '/some/path');
      assert.equal(response.headers.get('set-cookie'), 'c=1');
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(body.length, 100_001);
      assert.equal(body.at(-1), '!'.charCodeAt(0));
    } finally {
      await emulator.close();
    }
  });
});
