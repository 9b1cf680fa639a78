import { open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../shared/checksum/index.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { S3dbError } from './errors.ts';

/**
 * FSM snapshots as files: [u32 "S3DB"][u64 index] then records [1][u32 len][key][u32 len][value] ... [0] —
 * the same layout as the in-memory snapshot of earlier versions, written and read in bounded blocks, so a
 * snapshot of any size costs a few blocks of memory. Raft carries only a small reference to the file
 * (index, size, CRC32C); the file itself travels in chunks (snapshot-stream.ts).
 */
export const SNAPSHOT_MAGIC = 0x53334442; // "S3DB"
const REF_MAGIC = 0x53335246; // "S3RF"
const BLOCK = 256 * 1024;

export interface SnapshotRef {
  index: number;
  size: number;
  crc: number;
}

export function encodeSnapshotRef(ref: SnapshotRef): Uint8Array {
  return new ByteWriter(32).u32(REF_MAGIC).u64(ref.index).u64(ref.size).u32(ref.crc).finish();
}

/** The reference in a Raft snapshot's data, or undefined when the data is an inline snapshot (older format). */
export function decodeSnapshotRef(data: Uint8Array): SnapshotRef | undefined {
  if (data.length !== 24) return undefined;
  const r = new ByteReader(data);
  if (r.u32() !== REF_MAGIC) return undefined;
  return { index: r.u64(), size: r.u64(), crc: r.u32() };
}

export function snapshotFileName(index: number): string {
  return `snap-${String(index).padStart(16, '0')}.s3db`;
}

export function snapshotPath(dir: string, index: number): string {
  return join(dir, snapshotFileName(index));
}

/** Writes records to `dir/snap-<index>` through a temp file + fsync + rename; returns its reference. */
export async function writeSnapshotFile(
  dir: string,
  index: number,
  records: AsyncIterable<[Uint8Array, Uint8Array]>,
): Promise<SnapshotRef> {
  const final = snapshotPath(dir, index);
  const tmp = `${final}.tmp`;
  const fh = await open(tmp, 'w');
  let size = 0;
  let crc = 0;
  let w = new ByteWriter(BLOCK + 1024);
  let pending = 0;
  const flush = async (): Promise<void> => {
    const block = w.finish();
    if (block.length === 0) return;
    await fh.write(block);
    crc = crc32c(block, crc);
    size += block.length;
    w = new ByteWriter(BLOCK + 1024);
    pending = 0;
  };
  try {
    w.u32(SNAPSHOT_MAGIC).u64(index);
    for await (const [k, v] of records) {
      w.u8(1).bytes(k).bytes(v);
      pending += 9 + k.length + v.length;
      if (pending >= BLOCK) await flush();
    }
    w.u8(0);
    await flush();
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  return { index, size, crc };
}

/** Streams the records of a snapshot file (or of an inline snapshot's bytes) in bounded memory. */
export async function* readSnapshotRecords(
  source: string | Uint8Array,
): AsyncGenerator<{ index: number } | { key: Uint8Array; value: Uint8Array }> {
  const blocks = typeof source === 'string' ? fileBlocks(source) : oneBlock(source);
  let buf: Uint8Array = new Uint8Array(0);
  let pos = 0;
  let eof = false;
  const need = async (n: number): Promise<void> => {
    while (buf.length - pos < n) {
      const next = await blocks.next();
      if (next.done) {
        eof = true;
        throw new S3dbError('Internal', 'snapshot is truncated');
      }
      const rest = buf.subarray(pos);
      const joined = new Uint8Array(rest.length + next.value.length);
      joined.set(rest);
      joined.set(next.value, rest.length);
      buf = joined;
      pos = 0;
    }
  };
  const view = (): DataView => new DataView(buf.buffer, buf.byteOffset + pos);
  await need(12);
  if (view().getUint32(0) !== SNAPSHOT_MAGIC) throw new S3dbError('Internal', 'not an s3db snapshot');
  const index = Number(view().getBigUint64(4));
  pos += 12;
  yield { index };
  for (;;) {
    await need(1);
    const tag = buf[pos]!;
    pos += 1;
    if (tag === 0) break;
    if (tag !== 1) throw new S3dbError('Internal', `bad snapshot record tag ${tag}`);
    await need(4);
    const klen = view().getUint32(0);
    await need(4 + klen + 4);
    const key = buf.slice(pos + 4, pos + 4 + klen);
    pos += 4 + klen;
    const vlen = view().getUint32(0);
    await need(4 + vlen);
    const value = buf.slice(pos + 4, pos + 4 + vlen);
    pos += 4 + vlen;
    yield { key, value };
  }
  void eof;
}

async function* oneBlock(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

async function* fileBlocks(path: string): AsyncGenerator<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new S3dbError('Internal', `snapshot file missing: ${path}: ${String(err)}`);
  }
  try {
    for (;;) {
      const block = new Uint8Array(BLOCK);
      const { bytesRead } = await fh.read(block, 0, BLOCK, null);
      if (bytesRead === 0) return;
      yield block.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** CRC32C of a whole file, read in blocks. */
export async function fileCrc(path: string): Promise<{ size: number; crc: number }> {
  let size = 0;
  let crc = 0;
  for await (const block of fileBlocks(path)) {
    crc = crc32c(block, crc);
    size += block.length;
  }
  return { size, crc };
}

/** Deletes snapshot files and partial transfers except the snapshots at `keep` indexes. */
export async function pruneSnapshotFiles(dir: string, keep: Set<number>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^snap-(\d{16})\.s3db$/.exec(name);
    if (m && keep.has(Number(m[1]))) continue;
    if (m || name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
  }
}

/** Deletes partial snapshot transfers left by an earlier process (transfers restart after a restart). */
export async function removePartialTransfers(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.endsWith('.part')) await rm(join(dir, name), { force: true });
}
