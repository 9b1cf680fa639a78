import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import https from 'node:https';
import { cpus, loadavg } from 'node:os';
import { BATCH_CONTENT_TYPE, encodeBatchBody } from '../../../shared/s3db-client/batch-body.ts';
import { signRequest } from '../../../shared/sigv4/index.ts';
import { S3dbClientError } from '../../../shared/s3db-client/index.ts';
import { CREDENTIALS, ProcessCluster } from './harness.ts';

interface Raw {
  status: number;
  body: string;
}

function raw(
  address: string,
  method: string,
  path: string,
  body = Buffer.alloc(0),
  secret = CREDENTIALS.secretAccessKey,
  headers: Record<string, string> = {},
): Promise<Raw> {
  const [host, port] = address.split(':');
  const q = path.indexOf('?');
  const signed = signRequest({
    method,
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? '' : path.slice(q + 1),
    headers: { host: address, ...headers },
    payloadHash: createHash('sha256').update(body).digest('hex'),
    credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: secret },
    region: 'us-east-1',
    service: 's3db',
  });
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port: Number(port),
        method,
        path,
        rejectUnauthorized: false,
        headers: { host: address, 'content-length': String(body.length), ...headers, ...signed.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const errorCode = (r: Raw): string => (JSON.parse(r.body) as { error: { code: string } }).error.code;

test('3 s3db processes: REST API, forwarding, errors, kill -9 of the leader under load, catch-up, join', async (t) => {
  const cluster = await ProcessCluster.create(process.pid, [1, 2, 3], [4]);
  try {
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    const leader = await cluster.leaderId();
    const follower = [1, 2, 3].find((id) => id !== leader)!;

    await t.test(
      'REST API through a follower: forwarded writes, linearizable and stale reads, scans, batch',
      async () => {
        const c = cluster.client([follower]);
        const key = new Uint8Array([0, 0xff, 0x2f, 0x3f]);
        const put = await c.put('objects', key, new Uint8Array([1, 2, 3]));
        assert.ok(put.version > 0);
        assert.deepEqual(await c.get('objects', key), {
          value: new Uint8Array([1, 2, 3]),
          version: put.version,
        });
        assert.equal(await c.get('objects', 'missing'), undefined);
        for (let i = 0; i < 25; i++)
          await c.put('list', `p/${String(i).padStart(3, '0')}`, new Uint8Array([i]));
        await c.put('list', 'q/other', new Uint8Array([99]));
        const page = await c.scan('list', { prefix: 'p/', limit: 10 });
        assert.equal(page.items.length, 10);
        assert.ok(page.truncated && page.nextStartAfter);
        const all = [];
        for await (const it of c.scanAll('list', { prefix: 'p/', limit: 7 }))
          all.push(Buffer.from(it.key).toString());
        assert.deepEqual(
          all,
          Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(3, '0')}`),
        );
        const stale = cluster.client([follower]);
        assert.equal((await stale.scan('list', { prefix: 'p/', stale: true })).items.length, 25);
        stale.close();
        assert.deepEqual(
          await c.batch(
            [{ kind: 'absent', table: 'buckets', key: 'b1' }],
            [{ kind: 'put', table: 'buckets', key: 'b1', value: new Uint8Array([1]) }],
          ),
          {
            ok: true,
            version: (await c.get('buckets', 'b1'))!.version,
          },
        );
        const again = await c.batch(
          [{ kind: 'absent', table: 'buckets', key: 'b1' }],
          [{ kind: 'put', table: 'buckets', key: 'b1', value: new Uint8Array([2]) }],
        );
        assert.deepEqual(again, { ok: false, failed: 0, reason: 'key exists' });
        assert.deepEqual((await c.delete('objects', key)).deleted, true);
        assert.equal(await c.get('objects', key), undefined);
        c.close();
      },
    );

    await t.test(
      'bad signature, bad hex, oversized body, internal table and unknown routes are clear 4xx JSON errors',
      async () => {
        const a = cluster.address(follower);
        let r = await raw(a, 'GET', '/v1/get/objects/00', Buffer.alloc(0), 'wrong-secret');
        assert.equal(r.status, 403);
        assert.equal(errorCode(r), 'SignatureDoesNotMatch');
        r = await raw(a, 'GET', '/v1/get/objects/0g');
        assert.equal(r.status, 400);
        assert.equal(errorCode(r), 'InvalidKey');
        r = await raw(a, 'POST', '/v1/put/objects/00', Buffer.alloc(8 * 1024 * 1024 + 1));
        assert.equal(r.status, 413);
        assert.equal(errorCode(r), 'BodyTooLarge');
        r = await raw(a, 'POST', '/v1/put/_members/00', Buffer.from('x'));
        assert.equal(r.status, 400);
        assert.equal(errorCode(r), 'InvalidTable');
        r = await raw(
          a,
          'POST',
          '/v1/batch',
          Buffer.from('{"ops":[{"kind":"put","table":"t","key":"zz","value":""}]}'),
        );
        assert.equal(r.status, 400);
        // The JSON batch body still works beside the client's binary one; a broken binary body is a clear 400.
        r = await raw(
          a,
          'POST',
          '/v1/batch',
          Buffer.from('{"ops":[{"kind":"put","table":"t","key":"aa","value":"AQI="}]}'),
        );
        assert.equal(r.status, 200, r.body.toString());
        const reader = cluster.client([follower]);
        assert.deepEqual((await reader.get('t', new Uint8Array([0xaa])))?.value, new Uint8Array([1, 2]));
        reader.close();
        const good = encodeBatchBody({
          preconditions: [],
          ops: [{ kind: 'put', table: 't', key: new Uint8Array([1]), value: new Uint8Array([2]) }],
        });
        r = await raw(a, 'POST', '/v1/batch', Buffer.from(good.subarray(0, good.length - 1)), undefined, {
          'content-type': BATCH_CONTENT_TYPE,
        });
        assert.equal(r.status, 400);
        assert.equal(errorCode(r), 'InvalidRequest');
        r = await raw(a, 'GET', '/v1/nope');
        assert.equal(r.status, 404);
        r = await raw(a, 'GET', '/health');
        assert.equal(r.status, 200);
        const c = cluster.client([follower]);
        await assert.rejects(
          c.put('bad/table', 'k', new Uint8Array()),
          (e: unknown) => e instanceof S3dbClientError && e.status === 400,
        );
        c.close();
      },
    );

    await t.test(
      'kill -9 the leader under write load: writes resume within 3 s, no acknowledged write lost, it catches up',
      async () => {
        const writers = cluster.client([1, 2, 3]);
        const acked = new Map<string, number>();
        let stop = false;
        let killedAt = 0;
        let firstAfterKill = 0;
        const load = Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; !stop && i < 100_000; i++) {
            const key = `w${w}-${i}`;
            const started = Date.now();
            try {
              await writers.put('load', key, new Uint8Array(Buffer.from(key)));
              acked.set(key, i);
              if (killedAt && started > killedAt && !firstAfterKill) firstAfterKill = Date.now();
            } catch {
              // an unacknowledged write may or may not exist; only acknowledged ones are checked
            }
          }
        });
        while (acked.size < 100) await new Promise((r) => setTimeout(r, 20));
        const old = await cluster.leaderId();
        killedAt = Date.now();
        await cluster.kill(old);
        while (!firstAfterKill && Date.now() - killedAt < 15_000) await new Promise((r) => setTimeout(r, 20));
        const failover = firstAfterKill - killedAt;
        t.diagnostic(`first write accepted ${failover} ms after kill -9 of leader ${old}`);
        assert.ok(firstAfterKill > 0, 'no write was accepted after the leader was killed');
        // Default timeouts (1 s election) give < 3 s; a machine with far more runnable processes than cores
        // delays every timer and fsync, so there the bound is only checked loosely (and reported above).
        const overloaded = loadavg()[0]! > 2 * cpus().length;
        assert.ok(failover < (overloaded ? 15_000 : 3000), `failover took ${failover} ms`);
        const before = acked.size;
        while (acked.size < before + 100) await new Promise((r) => setTimeout(r, 20));
        stop = true;
        await Promise.all(load);
        const reader = cluster.client([1, 2, 3].filter((id) => id !== old));
        const present = new Set<string>();
        for await (const it of reader.scanAll('load', { limit: 5000 }))
          present.add(Buffer.from(it.key).toString());
        for (const key of acked.keys()) assert.ok(present.has(key), `acknowledged write ${key} lost`);
        await cluster.start(old);
        const back = cluster.client([old], { retryForMs: 20_000 });
        // A linearizable read on the restarted node waits until it has caught up with the leader.
        const last = [...acked.keys()].pop()!;
        assert.ok(await back.get('load', last));
        assert.equal(
          (await back.scan('load', { stale: true, limit: 10000 })).items.length >= acked.size,
          true,
        );
        back.close();
        reader.close();
        writers.close();
      },
    );

    await t.test('a new node joins through /v1/join and receives the data', async () => {
      await cluster.writeConfig([1, 2, 3, 4]);
      await cluster.start(4, { join: true });
      const c = cluster.client([1, 2, 3]);
      await c.put('objects', 'after-join', new Uint8Array([4]));
      const status = (await c.status()) as { voters: number[] };
      assert.deepEqual(status.voters, [1, 2, 3, 4]);
      const n4 = cluster.client([4]);
      assert.deepEqual((await n4.get('objects', 'after-join'))?.value, new Uint8Array([4]));
      assert.ok((await n4.get('buckets', 'b1'))?.value);
      n4.close();
      c.close();
    });
  } finally {
    await cluster.destroy();
  }
});
