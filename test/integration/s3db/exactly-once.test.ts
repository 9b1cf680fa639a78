// Exactly-once writes and member removal against 3 real s3db processes.
//  1. A batch's answer is lost after the leader committed it (a TLS proxy in front of the leader swallows the
//     answer, then the leader is killed -9). The client retries on another member with the same session tag:
//     the new leader answers the FIRST result instead of applying the batch again (which would fail its
//     `absent` precondition).
//  2. /v1/remove takes the dead member out through the log, then the leader removes itself (it hands
//     leadership over first): the last member commits writes alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { CREDENTIALS, ProcessCluster } from './harness.ts';

/** HTTPS proxy (cluster certificate) to one node; relays requests and, once armed, swallows the answer. */
async function startLossyProxy(
  tlsDir: string,
  target: string,
  onSwallowed: (status: number, body: string) => Promise<void>,
): Promise<{ address: string; close: () => Promise<void> }> {
  const certs = await ensureClusterCertificates(tlsDir, ['s3db-proxy']);
  const pair = certs.nodes['s3db-proxy']!;
  const [host, port] = target.split(':');
  const server = https.createServer(
    { cert: pair.certPem, key: pair.keyPem },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const fwd = https.request(
          {
            host,
            port: Number(port),
            method: req.method,
            path: req.url,
            headers: req.headers,
            ca: certs.caPem,
            checkServerIdentity: () => undefined,
          },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              // The leader committed and answered; the answer never reaches the client.
              res.socket?.destroy();
              void onSwallowed(answer.statusCode ?? 0, Buffer.concat(body).toString());
            });
          },
        );
        fwd.on('error', () => res.socket?.destroy());
        fwd.end(Buffer.concat(chunks));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    address: `127.0.0.1:${p}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('a retried write whose answer was lost applies once; members are removed through the log', async (t) => {
  const cluster = await ProcessCluster.create(process.pid + 41, [1, 2, 3]);
  try {
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    const leader = await cluster.leaderId();
    const others = [1, 2, 3].filter((id) => id !== leader);

    await t.test(
      'batch answer lost after commit + leader kill -9: the retry gets the first result',
      async () => {
        let swallowed: { status: number; body: string } | undefined;
        const proxy = await startLossyProxy(
          join(cluster.dir, 'tls'),
          cluster.address(leader),
          async (status, body) => {
            swallowed = { status, body };
            await cluster.kill(leader);
          },
        );
        const client = cluster.client(others, { retryForMs: 20_000 });
        // The proxy goes first in the client's list, so the first attempt reaches the leader through it.
        const viaProxy = new S3dbClient({
          nodes: [proxy.address, ...others.map((id) => cluster.address(id))],
          credentials: CREDENTIALS,
          caPem: cluster.caPem,
          retryForMs: 20_000,
        });
        try {
          const started = Date.now();
          const result = await viaProxy.batch(
            [{ kind: 'absent', table: 'buckets', key: 'photos' }],
            [{ kind: 'put', table: 'buckets', key: 'photos', value: new Uint8Array([1]) }],
          );
          assert.ok(swallowed, 'the first answer was swallowed by the proxy');
          assert.equal(swallowed.status, 200);
          const first = JSON.parse(swallowed.body) as { ok: boolean; version: number };
          assert.equal(first.ok, true);
          assert.deepEqual(
            result,
            { ok: true, version: first.version },
            'the retry answers the first result',
          );
          const stored = await client.get('buckets', 'photos');
          assert.equal(stored?.version, first.version, 'applied once: the value is the first write');
          // Without a session tag the same retry is a new request and fails its precondition.
          const again = await client.batch(
            [{ kind: 'absent', table: 'buckets', key: 'photos' }],
            [{ kind: 'put', table: 'buckets', key: 'photos', value: new Uint8Array([2]) }],
          );
          assert.equal(again.ok, false);
          t.diagnostic(`lost answer → retried result in ${Date.now() - started} ms`);
        } finally {
          viaProxy.close();
          client.close();
          await proxy.close();
        }
      },
    );

    await t.test('remove the dead member, then the leader removes itself', async () => {
      const client = cluster.client(others, { retryForMs: 20_000 });
      try {
        const first = await client.removeMember(leader);
        assert.equal(first.removed, true);
        assert.deepEqual(first.voters.sort(), [...others].sort());
        assert.equal((await client.removeMember(leader)).removed, false, 'removing a non-voter is a no-op');
        const current = await cluster.leaderId(others);
        const survivor = others.find((id) => id !== current)!;
        const self = await client.removeMember(current);
        assert.deepEqual(self.voters, [survivor]);
        assert.equal(await cluster.leaderId([survivor]), survivor);
        const last = cluster.client([survivor]);
        try {
          const put = await last.put('t', 'after-removal', new Uint8Array([7]));
          assert.equal((await last.get('t', 'after-removal'))?.version, put.version);
          const status = await last.status();
          assert.deepEqual(status['voters'], [survivor]);
        } finally {
          last.close();
        }
      } finally {
        client.close();
      }
    });
  } finally {
    await cluster.destroy();
  }
});
