// The one reason a running s3d stops, whichever comes first: a signal, a child that died, a part that
// failed, or (for a supervised child) the supervisor going away.
import type { ChildExit, ManagedChild, StopSignal } from '../shared/process/index.ts';

export type StopReason =
  | { kind: 'signal'; signal: StopSignal }
  | { kind: 'child-exit'; child: ManagedChild; exit: ChildExit }
  | { kind: 'fatal'; role: string; error: unknown }
  | { kind: 'supervisor-gone' };

/** Thrown by `StopTrigger.race` when the stop came while something was still starting. */
export class StopRequested extends Error {
  constructor(readonly reason: StopReason) {
    super(`stop requested (${reason.kind})`);
    this.name = 'StopRequested';
  }
}

export class StopTrigger {
  readonly stopped: Promise<StopReason>;
  #resolve!: (reason: StopReason) => void;
  #reason: StopReason | undefined;

  constructor() {
    this.stopped = new Promise((resolve) => (this.#resolve = resolve));
  }

  get reason(): StopReason | undefined {
    return this.#reason;
  }

  /** The first call decides; later ones are ignored (and return false). */
  fire(reason: StopReason): boolean {
    if (this.#reason !== undefined) return false;
    this.#reason = reason;
    this.#resolve(reason);
    return true;
  }

  /** `work`, unless the stop comes first: then StopRequested. */
  async race<T>(work: Promise<T>): Promise<T> {
    const stop = this.stopped.then((reason) => {
      throw new StopRequested(reason);
    });
    return Promise.race([work, stop]);
  }
}
