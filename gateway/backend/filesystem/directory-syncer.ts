// Group commit for directory fsyncs: callers that ask while a sync of the same directory is running
// share the one that starts right after it (a sync that began before their rename would not cover it).
import { fsyncDirectory } from './durable.ts';

interface DirState {
  running?: Promise<void>;
  queued?: Promise<void>;
}

export class DirectorySyncer {
  private readonly dirs = new Map<string, DirState>();

  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir);
    if (state === undefined) {
      state = {};
      this.dirs.set(dir, state);
    }
    if (state.running === undefined) return this.start(dir, state);
    if (state.queued === undefined) {
      const s = state;
      state.queued = (s.running as Promise<void>)
        .catch(() => undefined)
        .then(() => {
          s.queued = undefined;
          return this.start(dir, s);
        });
    }
    return state.queued;
  }

  private start(dir: string, state: DirState): Promise<void> {
    const running = fsyncDirectory(dir).finally(() => {
      if (state.running === running) state.running = undefined;
      if (state.running === undefined && state.queued === undefined) this.dirs.delete(dir);
    });
    state.running = running;
    return running;
  }
}
