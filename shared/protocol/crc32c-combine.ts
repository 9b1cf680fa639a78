// CRC32C of a concatenation from the CRCs of its parts (zlib's crc32_combine, for the Castagnoli polynomial).
// Lets the running CRC of a whole shard be derived from the per-segment CRCs without a second pass over the bytes.
// Pure, no I/O.

const POLY_REFLECTED = 0x82f63b78;

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let i = 0;
  let v = vec >>> 0;
  while (v !== 0) {
    if (v & 1) sum ^= mat[i] as number;
    v >>>= 1;
    i++;
  }
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n] as number);
}

/** Operators that append 2^k zero bytes (k = 0..63), built once. */
const ZERO_OPERATORS: Uint32Array[] = (() => {
  const ops: Uint32Array[] = [];
  // Operator for one zero bit, then square up to one byte (8 bits = 3 squarings).
  const odd = new Uint32Array(32);
  odd[0] = POLY_REFLECTED;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  const even = new Uint32Array(32);
  gf2Square(even, odd); // 2 bits
  gf2Square(odd, even); // 4 bits
  gf2Square(even, odd); // 8 bits = 1 byte
  ops.push(even);
  for (let k = 1; k < 53; k++) {
    const next = new Uint32Array(32);
    gf2Square(next, ops[k - 1] as Uint32Array);
    ops.push(next);
  }
  return ops;
})();

/** crc32c(a ‖ b) given crcA = crc32c(a), crcB = crc32c(b) and b's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`bad length ${lengthB}`);
  let crc = crcA >>> 0;
  let len = lengthB;
  for (let k = 0; len > 0; k++, len = Math.floor(len / 2)) {
    if (len % 2 === 1) crc = gf2Times(ZERO_OPERATORS[k] as Uint32Array, crc);
  }
  return (crc ^ crcB) >>> 0;
}
