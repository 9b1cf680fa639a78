import { S3dbError } from './errors.ts';

/** Table names: short, printable, safe in a URL path segment. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_KEY_BYTES = 4096;

export function validateTable(table: string): void {
  if (!TABLE_NAME.test(table)) {
    throw new S3dbError(
      'InvalidTable',
      `table name must match ${TABLE_NAME.source}, got ${JSON.stringify(table)}`,
    );
  }
}

export function validateKey(key: Uint8Array): void {
  if (key.length === 0) throw new S3dbError('InvalidKey', 'key must not be empty');
  if (key.length > MAX_KEY_BYTES) throw new S3dbError('InvalidKey', `key longer than ${MAX_KEY_BYTES} bytes`);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses a hex string strictly (even length, hex digits only). */
export function parseHex(text: string, what = 'key'): Uint8Array {
  if (!HEX.test(text))
    throw new S3dbError('InvalidKey', `${what} is not valid hex: ${JSON.stringify(text.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Storage key of (table, key) in the FSM's LevelDB: [len(table)][table][key].
 * Keys of one table are contiguous and ordered by raw key bytes. Length 0 is reserved for metadata.
 */
export function storageKey(table: string, key: Uint8Array): Uint8Array {
  const name = Buffer.from(table, 'latin1');
  const out = new Uint8Array(1 + name.length + key.length);
  out[0] = name.length;
  out.set(name, 1);
  out.set(key, 1 + name.length);
  return out;
}

export function tablePrefix(table: string): Uint8Array {
  return storageKey(table, new Uint8Array(0));
}

/** The smallest byte string greater than every string starting with `prefix`, or undefined if none exists. */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

export function metaKey(name: string): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  const out = new Uint8Array(1 + n.length);
  out[0] = 0;
  out.set(n, 1);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
