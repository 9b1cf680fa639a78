// The whole-object checksums S3 accepts in x-amz-checksum-* headers and trailers, computed incrementally.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32c } from '../../shared/checksum/index.ts';
import { S3AuthError } from '../../shared/sigv4/index.ts';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
];

const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/** `x-amz-checksum-crc32` for CRC32, etc. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm of an `x-amz-checksum-<alg>` header name, or undefined for other names. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase();
  if (!lower.startsWith('x-amz-checksum-')) return undefined;
  return CHECKSUM_ALGORITHMS.find((a) => a.toLowerCase() === lower.slice('x-amz-checksum-'.length));
}

/** Validates the base64 form of a checksum value (right length for the algorithm). */
export function isValidChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  return Buffer.from(value, 'base64').length === DIGEST_BYTES[algorithm];
}

export interface Checksummer {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): void;
  /** Base64 of the big-endian digest, the form S3 uses on the wire. */
  digestBase64(): string;
}

// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5), slicing-by-8 on 32-bit halves (no BigInt per byte).
// LO[k][i] / HI[k][i] are the low / high words of table k.
const LO: Uint32Array[] = [];
const HI: Uint32Array[] = [];
{
  const polyLo = 0xac4bc9b5;
  const polyHi = 0x9a6c9329;
  const lo0 = new Uint32Array(256);
  const hi0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (lsb) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    lo0[i] = lo;
    hi0[i] = hi;
  }
  LO.push(lo0);
  HI.push(hi0);
  for (let k = 1; k < 8; k++) {
    const prevLo = LO[k - 1]!;
    const prevHi = HI[k - 1]!;
    const lo = new Uint32Array(256);
    const hi = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const index = prevLo[i]! & 0xff;
      lo[i] = (((prevLo[i]! >>> 8) | (prevHi[i]! << 24)) ^ lo0[index]!) >>> 0;
      hi[i] = ((prevHi[i]! >>> 8) ^ hi0[index]!) >>> 0;
    }
    LO.push(lo);
    HI.push(hi);
  }
}

class Crc64Nvme implements Checksummer {
  readonly algorithm = 'CRC64NVME' as const;
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  update(data: Uint8Array): void {
    const [L0, L1, L2, L3, L4, L5, L6, L7] = LO as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    const [H0, H1, H2, H3, H4, H5, H6, H7] = HI as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    let lo = this.lo;
    let hi = this.hi;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const ia = a & 0xff;
      const ib = (a >>> 8) & 0xff;
      const ic = (a >>> 16) & 0xff;
      const id = a >>> 24;
      const ie = b & 0xff;
      const iff = (b >>> 8) & 0xff;
      const ig = (b >>> 16) & 0xff;
      const ih = b >>> 24;
      lo = L7[ia]! ^ L6[ib]! ^ L5[ic]! ^ L4[id]! ^ L3[ie]! ^ L2[iff]! ^ L1[ig]! ^ L0[ih]!;
      hi = H7[ia]! ^ H6[ib]! ^ H5[ic]! ^ H4[id]! ^ H3[ie]! ^ H2[iff]! ^ H1[ig]! ^ H0[ih]!;
    }
    for (; i < data.length; i++) {
      const index = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ L0[index]!;
      hi = (hi >>> 8) ^ H0[index]!;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }
  digestBase64(): string {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out.toString('base64');
  }
}

class Crc32Family implements Checksummer {
  readonly algorithm: 'CRC32' | 'CRC32C';
  private value = 0;
  constructor(algorithm: 'CRC32' | 'CRC32C') {
    this.algorithm = algorithm;
  }
  update(data: Uint8Array): void {
    this.value = this.algorithm === 'CRC32' ? crc32(data, this.value) : crc32c(data, this.value);
  }
  digestBase64(): string {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.value >>> 0, 0);
    return out.toString('base64');
  }
}

class HashChecksum implements Checksummer {
  readonly algorithm: 'SHA1' | 'SHA256';
  private readonly hash: Hash;
  constructor(algorithm: 'SHA1' | 'SHA256') {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm === 'SHA1' ? 'sha1' : 'sha256');
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digestBase64(): string {
    return this.hash.digest('base64');
  }
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32':
    case 'CRC32C':
      return new Crc32Family(algorithm);
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
    case 'SHA256':
      return new HashChecksum(algorithm);
  }
}

/** One-shot checksum of a buffer, base64. */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  const c = createChecksummer(algorithm);
  c.update(data);
  return c.digestBase64();
}

export function badDigest(algorithm: ChecksumAlgorithm): S3AuthError {
  return new S3AuthError(
    'BadDigest',
    `The ${algorithm} you specified did not match the calculated checksum.`,
  );
}
