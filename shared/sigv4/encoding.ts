// URI encoding as SigV4 defines it: every byte except A-Z a-z 0-9 - _ . ~ is written as %XX (upper-case hex).

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')
  UNRESERVED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';
const SLASH = 0x2f;

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

/** SigV4 URI-encode of raw bytes (or a string, taken as UTF-8). `keepSlash` leaves '/' as is (paths). */
export function uriEncodeBytes(bytes: Uint8Array, keepSlash = false): string {
  let out = '';
  let runStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (UNRESERVED[b] === 1 || (keepSlash && b === SLASH)) continue;
    if (i > runStart) out += ascii(bytes, runStart, i);
    out += '%' + HEX[b >> 4]! + HEX[b & 15]!;
    runStart = i + 1;
  }
  if (runStart === 0) return ascii(bytes, 0, bytes.length);
  if (runStart < bytes.length) out += ascii(bytes, runStart, bytes.length);
  return out;
}

/** Strings that URI-encode to themselves (only unreserved characters), with and without '/' kept. */
const SELF_ENCODED = /^[A-Za-z0-9\-_.~]*$/;
const SELF_ENCODED_PATH = /^[A-Za-z0-9\-_.~/]*$/;

/** SigV4 URI-encode of a string (UTF-8). */
export function uriEncode(value: string, keepSlash = false): string {
  if ((keepSlash ? SELF_ENCODED_PATH : SELF_ENCODED).test(value)) return value;
  return uriEncodeBytes(Buffer.from(value, 'utf8'), keepSlash);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes `value` to bytes. A '%' not followed by two hex digits is kept literally, as lenient
 * servers do. With `plusAsSpace`, '+' becomes a space (query strings).
 */
export function percentDecodeBytes(value: string, plusAsSpace = false): Buffer {
  const input = Buffer.from(value, 'utf8');
  if (!input.includes(0x25) && !(plusAsSpace && input.includes(0x2b))) return input;
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1]!);
      const lo = hexValue(input[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = plusAsSpace && b === 0x2b ? 0x20 : b;
  }
  return out.subarray(0, n);
}

/** Percent-decodes to a UTF-8 string (invalid sequences become U+FFFD). */
export function percentDecode(value: string, plusAsSpace = false): string {
  return percentDecodeBytes(value, plusAsSpace).toString('utf8');
}
