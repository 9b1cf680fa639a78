/**
 * Shared read-only file handles of volumes, reference counted so a volume retired by compaction is closed
 * only after the reads already using it finish. A retired volume hands out no new handles: the reader looks
 * the shard up in the index again and finds its new home.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isNodeError } from './errors.ts';
import { volumePath } from './volume-files.ts';

interface Entry {
  handle: Promise<FileHandle>;
  refs: number;
  retired: boolean;
}

export class VolumeReaders {
  private readonly entries = new Map<number, Entry>();
  private readonly retired = new Set<number>();

  constructor(private readonly dir: string) {}

  /** A handle on the volume, or null when it was retired or no longer exists. Pair with release(). */
  async acquire(volume: number): Promise<FileHandle | null> {
    if (this.retired.has(volume)) return null;
    let entry = this.entries.get(volume);
    if (entry === undefined) {
      entry = { handle: open(volumePath(this.dir, volume), 'r'), refs: 0, retired: false };
      this.entries.set(volume, entry);
    }
    entry.refs++;
    try {
      return await entry.handle;
    } catch (err) {
      entry.refs--;
      if (this.entries.get(volume) === entry) this.entries.delete(volume);
      if (isNodeError(err, 'ENOENT')) return null;
      throw err;
    }
  }

  release(volume: number): void {
    const entry = this.entries.get(volume);
    if (entry === undefined) return;
    entry.refs--;
    if (entry.refs === 0 && entry.retired) this.closeEntry(volume, entry);
  }

  /** No new reads of this volume; the handle closes when the last current read releases it. */
  retire(volume: number): void {
    this.retired.add(volume);
    const entry = this.entries.get(volume);
    if (entry === undefined) return;
    entry.retired = true;
    if (entry.refs === 0) this.closeEntry(volume, entry);
  }

  private closeEntry(volume: number, entry: Entry): void {
    this.entries.delete(volume);
    entry.handle.then((fh) => fh.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.handle.then((fh) => fh.close()).catch(() => undefined)));
  }
}
