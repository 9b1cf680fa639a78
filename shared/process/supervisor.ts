// A group of child processes that live and die together: started at once, ready together (or not at
// all), and stopped together. A child that ends while nobody asked it to is reported once through
// `onUnexpectedExit`; what to do about it is the caller's decision.
import { ChildStartError, ManagedChild } from './child.ts';
import type { ChildExit, ChildSpec, LineSink } from './child.ts';
import type { ReadyMessage } from './readiness.ts';

export interface SupervisorOptions {
  sink: LineSink;
  onUnexpectedExit: (child: ManagedChild, exit: ChildExit) => void;
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #children: ManagedChild[] = [];
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  get children(): readonly ManagedChild[] {
    return this.#children;
  }

  spawn(spec: ChildSpec): ManagedChild {
    if (this.#stopping) throw new Error(`cannot start ${spec.role}: the supervisor is stopping`);
    const child = new ManagedChild(spec, this.#options.sink);
    this.#children.push(child);
    void child.exited.then((exit) => {
      if (!this.#stopping && !child.stopRequested) this.#options.onUnexpectedExit(child, exit);
    });
    return child;
  }

  /**
   * Resolves when every child said it is ready. Rejects with ChildStartError as soon as one ends first,
   * or when `timeoutMs` passes (naming the children that are still not ready).
   */
  async waitReady(timeoutMs: number): Promise<ReadyMessage[]> {
    const pending = new Set(this.#children);
    for (const child of this.#children)
      void child.ready.then(
        () => pending.delete(child),
        () => undefined,
      );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const late = [...pending];
        const roles = late.map((c) => c.role).join(', ');
        reject(
          new ChildStartError(
            late[0]?.role ?? '',
            `not ready after ${Math.round(timeoutMs / 1000)} s: ${roles}`,
            late.flatMap((c) => c.recentLines),
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(this.#children.map((c) => c.ready)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every child at once (SIGTERM, SIGKILL after `graceMs`); resolves when all are gone. */
  async stopAll(graceMs: number): Promise<Map<ManagedChild, ChildExit>> {
    this.#stopping = true;
    const exits = await Promise.all(this.#children.map((c) => c.stop(graceMs)));
    return new Map(this.#children.map((c, i) => [c, exits[i] as ChildExit]));
  }
}
