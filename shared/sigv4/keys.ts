// Signing key derivation (cached) and HMAC helpers.
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAX_CACHED_KEYS = 256;
const keyCache = new Map<string, Buffer>();

export function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), cached. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secretAccessKey}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  const key = hmac(kService, 'aws4_request');
  if (keyCache.size >= MAX_CACHED_KEYS) {
    const oldest = keyCache.keys().next();
    if (!oldest.done) keyCache.delete(oldest.value);
  }
  keyCache.set(cacheKey, key);
  return key;
}

/** Hex HMAC-SHA256 signature of a string to sign. */
export function signString(key: Uint8Array, text: string): string {
  return hmac(key, text).toString('hex');
}

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

/** Constant-time comparison of a computed hex signature with the one the client sent. */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  const provided = providedHex.toLowerCase();
  if (!HEX_SIGNATURE.test(provided) || !HEX_SIGNATURE.test(expectedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(provided, 'hex'));
}
