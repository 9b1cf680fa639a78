import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { RaftTransport } from '../../../appliance/s3db/transport.ts';
import { FrameDecoder, frame } from '../../../appliance/s3db/frames.ts';

test('frame decoder reassembles frames split at any byte', () => {
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70000).fill(7)];
  const wire = Buffer.concat(payloads.flatMap((p) => frame(p)));
  for (const step of [1, 3, 4, 5, 1000, wire.length]) {
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
    assert.deepEqual(
      got.map((g) => Buffer.from(g).toString('hex')),
      payloads.map((p) => Buffer.from(p).toString('hex')),
    );
  }
  assert.throws(() => new FrameDecoder(10).push(Buffer.from([0, 0, 0, 11])), /exceeds/);
});

test('two nodes exchange messages over mutual TLS; a peer from another CA is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3db-tr-'));
  const transports: RaftTransport[] = [];
  try {
    const certs = await ensureClusterCertificates(join(dir, 'certs'), ['s3db-1', 's3db-2']);
    const received: string[][] = [[], []];
    let wake: () => void = () => {};
    const ports: number[] = [];
    for (const i of [0, 1]) {
      const pair = certs.nodes[`s3db-${i + 1}`]!;
      transports.push(
        await RaftTransport.listen({
          bindHost: '127.0.0.1',
          port: 0,
          tls: { caPem: certs.caPem, ...pair },
          resolve: (id) => ({ host: '127.0.0.1', port: ports[id - 1]! }),
          onMessage: (m) => {
            received[i]!.push(Buffer.from(m).toString());
            wake();
          },
        }),
      );
      ports.push(transports[i]!.port);
    }
    const done = new Promise<void>((resolve) => {
      wake = () => {
        if (received[1]!.length === 100 && received[0]!.length === 1) resolve();
      };
    });
    for (let i = 0; i < 100; i++) transports[0]!.send(2, new Uint8Array(Buffer.from(`m${i}`)));
    transports[1]!.send(1, new Uint8Array(Buffer.from('back')));
    await done;
    assert.deepEqual(
      received[1],
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    assert.deepEqual(received[0], ['back']);

    const stranger = await ensureClusterCertificates(join(dir, 'other'), ['s3db-9']);
    const sock = tls.connect({
      host: '127.0.0.1',
      port: ports[1]!,
      ca: certs.caPem,
      ...stranger.nodes['s3db-9']!,
      checkServerIdentity: () => undefined,
    });
    sock.on('error', () => {});
    sock.write(Buffer.concat(frame(new Uint8Array(Buffer.from('intruder')))));
    await new Promise((resolve) => sock.once('close', resolve));
    assert.ok(!received[1]!.includes('intruder'));
  } finally {
    for (const t of transports) await t.close();
    await rm(dir, { recursive: true, force: true });
  }
});
