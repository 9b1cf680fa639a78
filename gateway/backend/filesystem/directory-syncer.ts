// Group commit for directory fsyncs: callers that ask while a sync of the same directory is running
// share the one that starts right after it (a sync that began before their rename would not cover it).
// Directory handles stay open between syncs (bounded, least recently used closed first).
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

interface DirState {
  handle?: Promise<FileHandle>;
  running?: Promise<void>;
  queued?: Promise<void>;
}

export class DirectorySyncer {
  // Map iteration order doubles as the LRU order (re-inserted on use).
  private readonly dirs = new Map<string, DirState>();
  private readonly maxOpen: number;

  constructor(maxOpen = 512) {
    this.maxOpen = maxOpen;
  }

  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir);
    if (state === undefined) state = {};
    else this.dirs.delete(dir);
    this.dirs.set(dir, state);
    const running = state.running;
    if (running === undefined) return this.start(dir, state);
    if (state.queued !== undefined) return state.queued;
    const s = state;
    const queued = running
      .catch(() => undefined)
      .then(() => {
        s.queued = undefined;
        return this.start(dir, s);
      });
    s.queued = queued;
    return queued;
  }

  private start(dir: string, state: DirState): Promise<void> {
    state.handle ??= open(dir, 'r');
    const running = state.handle
      .then((handle) => handle.sync())
      .catch(async (error: unknown) => {
        // A failed handle (e.g. the directory was removed) is not reused.
        const handle = state.handle;
        state.handle = undefined;
        await handle?.then((h) => h.close()).catch(() => undefined);
        throw error;
      })
      .finally(() => {
        if (state.running === running) state.running = undefined;
        void this.evictIdle();
      });
    state.running = running;
    return running;
  }

  private async evictIdle(): Promise<void> {
    for (const [dir, state] of this.dirs) {
      if (this.dirs.size <= this.maxOpen) return;
      if (state.running !== undefined || state.queued !== undefined) continue;
      this.dirs.delete(dir);
      await state.handle?.then((h) => h.close()).catch(() => undefined);
    }
  }

  /** Forgets (and closes) the handles of `dir` and everything below it, e.g. when a bucket is removed. */
  async forget(prefix: string): Promise<void> {
    for (const [dir, state] of [...this.dirs]) {
      if (dir !== prefix && !dir.startsWith(prefix + '/')) continue;
      this.dirs.delete(dir);
      await Promise.allSettled([state.running, state.queued]);
      await state.handle?.then((h) => h.close()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const [dir, state] of [...this.dirs]) {
      this.dirs.delete(dir);
      await Promise.allSettled([state.running, state.queued]);
      await state.handle?.then((h) => h.close()).catch(() => undefined);
    }
  }
}
