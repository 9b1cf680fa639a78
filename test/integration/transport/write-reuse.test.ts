// The send contract of the TLS multiplexer: once write()/writeParts() resolves, the transport no longer
// refers to the caller's bytes, so the caller may refill the same buffer (the gateway sends stripes
// straight from its encoder's pooled buffers). Eight streams share one connection whose receiver starts
// late, so writes queue behind a full socket; every byte must arrive as it was when it was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsTransport } from '../../../shared/transport/tls-transport.ts';
import type { DuplexStream } from '../../../shared/transport/types.ts';
import { useTestIdentities } from './identities.ts';

const ids = useTestIdentities('predastore-write-reuse-');

const PIECE = 64 * 1024;
const PIECES = 48;
const STREAMS = 8;

/** The byte piece `i` of stream `s` carries: anything else means the buffer was sent after its refill. */
const mark = (s: number, i: number): number => (s * 31 + i * 7 + 1) & 0xff;

test('a buffer refilled as soon as its write resolved still arrives with the bytes it had', async () => {
  const transport = new TlsTransport({ streamWindow: 16 << 20 });
  const accepted: DuplexStream[] = [];
  let wake: (() => void) | undefined;
  const listener = await transport.listen({ host: '127.0.0.1', port: 0, tls: ids.node }, (stream) => {
    accepted.push(stream);
    wake?.();
  });
  const conn = await transport.connect({
    host: '127.0.0.1',
    port: listener.port,
    tls: ids.gateway,
    serverName: 'localhost',
  });
  try {
    let accepted1MiB: () => void = () => undefined;
    const firstMiB = new Promise<void>((resolve) => (accepted1MiB = resolve));
    let written = 0;
    const writers = Array.from({ length: STREAMS }, async (_, s) => {
      const stream = await conn.openStream();
      const buffer = Buffer.allocUnsafe(PIECE);
      for (let i = 0; i < PIECES; i++) {
        buffer.fill(mark(s, i));
        if (i % 2 === 0) await stream.write(buffer);
        else await stream.writeParts!([buffer.subarray(0, 100), buffer.subarray(100)]);
        buffer.fill(0xee); // the refill a pooled sender does right away
        written += PIECE;
        if (written >= 1 << 20) accepted1MiB();
      }
      await stream.end();
    });
    // The receiver starts only once a MiB was accepted, so later writes queue behind a full socket.
    await firstMiB;
    while (accepted.length < STREAMS) await new Promise<void>((resolve) => (wake = resolve));
    const received = await Promise.all(
      accepted.map(async (stream) => {
        const chunks: Buffer[] = [];
        for (let c = await stream.read(); c; c = await stream.read()) chunks.push(Buffer.from(c));
        return Buffer.concat(chunks);
      }),
    );
    await Promise.all(writers);
    // Streams are accepted in the order they were opened, which is the writers' order only by chance:
    // identify each stream by its first byte.
    const byFirstMark = new Map<number | undefined, Buffer>(received.map((bytes) => [bytes[0], bytes]));
    for (let s = 0; s < STREAMS; s++) {
      const bytes = byFirstMark.get(mark(s, 0));
      assert.ok(bytes, `stream ${s} did not arrive`);
      assert.equal(bytes.length, PIECE * PIECES);
      for (let i = 0; i < PIECES; i++) {
        const piece: Buffer = bytes.subarray(i * PIECE, (i + 1) * PIECE);
        const bad: number = piece.findIndex((b: number) => b !== mark(s, i));
        assert.equal(bad, -1, `stream ${s} piece ${i}: byte ${bad} is ${piece[bad]}, not ${mark(s, i)}`);
      }
    }
  } finally {
    await conn.close();
    await listener.close();
  }
});
