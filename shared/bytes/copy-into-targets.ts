/**
 * Copies `chunk` into the regions a parser names, one after the other: `target()` gives the next non-empty
 * region, `commit(n)` says that its first n bytes were written. For receivers that choose where each byte lands
 * (the shard transport's in-place parsing) when the bytes arrive in buffers they did not choose.
 */
export function copyIntoTargets(
  chunk: Uint8Array,
  target: () => Uint8Array,
  commit: (n: number) => void,
): void {
  let at = 0;
  while (at < chunk.byteLength) {
    const t = target();
    const n = Math.min(t.byteLength, chunk.byteLength - at);
    t.set(chunk.subarray(at, at + n));
    at += n;
    commit(n);
  }
}
