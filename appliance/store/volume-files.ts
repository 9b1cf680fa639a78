/** Volume file naming, creation and directory fsync. */
import { open, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeVolumeHeader } from './record-codec.ts';
import { isNodeError } from './errors.ts';

const VOLUME_FILE = /^([0-9a-f]{8})\.vol$/;

export function volumeFileName(id: number): string {
  return `${id.toString(16).padStart(8, '0')}.vol`;
}

export function volumePath(dir: string, id: number): string {
  return join(dir, volumeFileName(id));
}

/** Ids of the volume files in `dir`, ascending. Other files are ignored. */
export async function listVolumeIds(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  const ids: number[] = [];
  for (const name of names) {
    const m = VOLUME_FILE.exec(name);
    if (m?.[1] !== undefined) ids.push(parseInt(m[1], 16));
  }
  return ids.sort((a, b) => a - b);
}

/** Makes the directory entries of `dir` (created, renamed or removed files) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates a new volume file holding only its header, durable (file and directory entry) on return. */
export async function createVolumeFile(dir: string, id: number): Promise<FileHandle> {
  const fh = await open(volumePath(dir, id), 'wx');
  try {
    const header = encodeVolumeHeader({ volumeId: id, createdAtMs: Date.now() });
    await fh.write(header, 0, header.byteLength, 0);
    await fh.datasync();
    await fsyncDir(dir);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(volumePath(dir, id)).catch(() => undefined);
    throw err;
  }
}

export async function removeFileIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isNodeError(err, 'ENOENT')) return false;
    throw err;
  }
}
