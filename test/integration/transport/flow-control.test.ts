import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsTransport } from '../../../shared/transport/tls-transport.ts';
import type { DuplexStream } from '../../../shared/transport/types.ts';
import { useTestIdentities } from './identities.ts';

const ids = useTestIdentities('predastore-flow-');

test('a stream whose reader stalls holds back only its own sender', async () => {
  const window = 512 * 1024;
  const transport = new TlsTransport({ streamWindow: window });
  const accepted: DuplexStream[] = [];
  const listener = await transport.listen({ host: '127.0.0.1', port: 0, tls: ids.node }, (s) =>
    accepted.push(s),
  );
  const conn = await transport.connect({
    host: '127.0.0.1',
    port: listener.port,
    tls: ids.gateway,
    serverName: 'localhost',
  });
  try {
    const stalled = await conn.openStream();
    const flowing = await conn.openStream();
    // Nobody reads `stalled` on the server: its writes must stop after about one window.
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const writer = (async () => {
      for (let i = 0; i < 64; i++) {
        await stalled.write(chunk);
        written += chunk.length;
      }
    })();
    writer.catch(() => undefined);
    // Meanwhile 8 MiB pass on the other stream of the same connection.
    await flowing.write(chunk);
    while (accepted.length < 2) await new Promise((r) => setImmediate(r));
    const server = accepted[1]!;
    const receiving = (async () => {
      let n = 0;
      for (let c = await server.read(); c; c = await server.read()) n += c.byteLength;
      return n;
    })();
    for (let i = 1; i < 128; i++) await flowing.write(chunk);
    await flowing.end();
    assert.equal(await receiving, 128 * chunk.length);
    assert.ok(
      written <= window + chunk.length,
      `stalled stream sent ${written} bytes past a ${window} window`,
    );
    // Once the server reads, the stalled sender finishes.
    const reader = (async () => {
      let n = 0;
      for (let c = await accepted[0]!.read(); c; c = await accepted[0]!.read()) n += c.byteLength;
      return n;
    })();
    await writer;
    await stalled.end();
    assert.equal(await reader, 64 * chunk.length);
  } finally {
    await conn.close();
    await listener.close();
  }
});

test('too many streams on one connection are refused, the rest go on', async () => {
  const transport = new TlsTransport();
  const accepted: DuplexStream[] = [];
  const listener = await transport.listen(
    { host: '127.0.0.1', port: 0, tls: ids.node, maxStreamsPerConnection: 2 },
    (s) => accepted.push(s),
  );
  const conn = await transport.connect({ host: '127.0.0.1', port: listener.port, tls: ids.gateway });
  try {
    const a = await conn.openStream();
    const b = await conn.openStream();
    const c = await conn.openStream();
    await assert.rejects(c.read(), /refused/);
    await a.write(Buffer.from('hello'));
    await a.end();
    await b.end();
    assert.equal(Buffer.from((await accepted[0]!.read())!).toString(), 'hello');
  } finally {
    await conn.close();
    await listener.close();
  }
});
