// Reading a connected socket straight into buffers we choose, one read at a time (Node's `onread` user
// buffers). For a TLS socket, Node copies each decrypted record into the buffer we name instead of into a
// fresh allocation that is then pushed through the socket's Readable machinery: the shard protocol uses it to
// land segment bytes directly in their destination (one copy, no per-record allocation, no 'data' event).
//
// `tls.connect` accepts `onread`, but a server-side TLSSocket ignores it, so the switch is made on the live
// socket the way net.Socket's own constructor does it: the socket's user-buffer slots (symbols found on a
// probe socket) and `handle.useUserBuffer()`. If this Node does not have them, `readInto` returns undefined
// and the caller keeps using 'data' events.
import net from 'node:net';

interface UserBufferSymbols {
  buffer: symbol;
  generator: symbol;
  callback: symbol;
}

let symbols: UserBufferSymbols | null | undefined;

function findSymbols(): UserBufferSymbols | null {
  if (symbols !== undefined) return symbols;
  const probe = new net.Socket({
    onread: { buffer: Buffer.alloc(1), callback: () => undefined },
  } as net.SocketConstructorOpts);
  const byName = new Map<string, symbol>();
  for (const s of Object.getOwnPropertySymbols(probe)) byName.set(s.description ?? '', s);
  probe.destroy();
  const buffer = byName.get('kBuffer');
  const generator = byName.get('kBufferGen');
  const callback = byName.get('kBufferCb');
  symbols = buffer && generator && callback ? { buffer, generator, callback } : null;
  return symbols;
}

export interface DirectReader {
  /** Makes `buffer` the target of the next read, replacing the one handed out last (no longer written). */
  repost(buffer: Buffer): void;
}

interface SocketInternals {
  _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null;
  [key: symbol]: unknown;
}

/**
 * Switches `socket` to reading into `next()`'s buffers: after each read of n bytes into the last buffer,
 * `onRead(n)` runs, then `next()` names the following buffer (non-empty). Bytes the socket had already
 * buffered come out of `socket.read()` first, so the caller must have taken those before calling this.
 * Returns undefined (nothing changed) when this Node cannot do it.
 */
export function readInto(
  socket: net.Socket,
  next: () => Buffer,
  onRead: (n: number) => void,
): DirectReader | undefined {
  if (process.env.PREDASTORE_DIRECT_READ === '0') return undefined;
  const s = findSymbols();
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (s === null || !handle || typeof handle.useUserBuffer !== 'function') return undefined;
  const first = next();
  internals[s.buffer] = first;
  internals[s.generator] = next;
  internals[s.callback] = (n: number): void => onRead(n);
  handle.useUserBuffer(first);
  return {
    repost(buffer: Buffer): void {
      const h = internals._handle;
      if (!h || typeof h.useUserBuffer !== 'function') return;
      internals[s.buffer] = buffer;
      h.useUserBuffer(buffer);
    },
  };
}
