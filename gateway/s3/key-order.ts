// S3 lists keys in UTF-8 binary order. JavaScript compares strings by UTF-16 code units, which
// differs for characters above U+FFFF (surrogates) versus U+E000..U+FFFF. This maps code units so
// that plain unit comparison gives code point order, which equals UTF-8 byte order.

function rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Index of the first element of the sorted `keys` that is > `after` (or >= when inclusive). */
export function lowerBound(keys: readonly string[], bound: string, inclusive = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(keys[mid] as string, bound);
    if (c < 0 || (!inclusive && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element at or after `from` that sorts after every key starting with `prefix`. */
export function endOfPrefix(keys: readonly string[], prefix: string, from = 0): number {
  let lo = from;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const key = keys[mid] as string;
    if (key.startsWith(prefix) || compareKeys(key, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
