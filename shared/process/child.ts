// One supervised child process: spawned with an IPC channel (for its "ready" message, and so that it
// stops by itself when the supervisor dies), its output forwarded line by line with its role as prefix,
// stopped with SIGTERM and, after a grace period, SIGKILL.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describeExit } from './exit-status.ts';
import type { ExitStatus } from './exit-status.ts';
import { LineSplitter } from './line-splitter.ts';
import { isReadyMessage } from './readiness.ts';
import type { ReadyMessage } from './readiness.ts';

export interface ChildSpec {
  /** Who the child is, e.g. "node 3" or "s3db 1": the prefix of its output and the name in reports. */
  role: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where forwarded output goes; each call is one complete line, already prefixed. */
export interface LineSink {
  out(line: string): void;
  err(line: string): void;
}

export interface ChildExit extends ExitStatus {
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: Error;
}

/** A child that ended before it was ready, or did not get ready in time. */
export class ChildStartError extends Error {
  constructor(
    readonly role: string,
    message: string,
    /** Its last lines of output, for the report. */
    readonly recentLines: readonly string[],
    readonly exit?: ChildExit,
  ) {
    super(message);
    this.name = 'ChildStartError';
  }
}

const RECENT_LINES = 20;

export class ManagedChild {
  readonly role: string;
  readonly ready: Promise<ReadyMessage>;
  readonly exited: Promise<ChildExit>;
  readonly #process: ChildProcess;
  readonly #recent: string[] = [];
  #exit: ChildExit | undefined;
  #stopRequested = false;

  constructor(spec: ChildSpec, sink: LineSink) {
    this.role = spec.role;
    // detached: its own process group, so a Ctrl-C in the terminal reaches only the supervisor, which
    // then stops the children in order; the IPC channel still ties the child's life to ours.
    this.#process = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    const child = this.#process;
    if (child.stdout) this.#forward(child.stdout, (line) => sink.out(line));
    if (child.stderr) this.#forward(child.stderr, (line) => sink.err(line));

    this.exited = new Promise<ChildExit>((resolve) => {
      child.on('error', (error) => {
        // Only spawn failures end here before 'close'; a failed kill() also emits 'error' later.
        if (child.pid === undefined && this.#exit === undefined) {
          this.#exit = { code: null, signal: null, spawnError: error };
          resolve(this.#exit);
        }
      });
      child.once('close', (code, signal) => {
        if (this.#exit === undefined) this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });

    this.ready = new Promise<ReadyMessage>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (!isReadyMessage(message)) return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      void this.exited.then((exit) => {
        child.off('message', onMessage);
        const how = exit.spawnError ? `could not be started: ${exit.spawnError.message}` : describeExit(exit);
        reject(
          new ChildStartError(this.role, `${this.role} ${how} before it was ready`, this.recentLines, exit),
        );
      });
    });
    // A readiness failure is also reported through `exited`; nobody has to listen to both.
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Set once stop() was called: an exit after that is expected. */
  get stopRequested(): boolean {
    return this.#stopRequested;
  }

  get exitStatus(): ChildExit | undefined {
    return this.#exit;
  }

  get recentLines(): string[] {
    return [...this.#recent];
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. Resolves once it is gone. */
  async stop(graceMs: number): Promise<ChildExit> {
    this.#stopRequested = true;
    if (this.#exit !== undefined) return this.#exit;
    this.#signal('SIGTERM');
    const timer = setTimeout(() => this.#signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#exit !== undefined) return;
    try {
      this.#process.kill(signal);
    } catch {
      // Already gone: 'close' reports it.
    }
  }

  #forward(stream: Readable, write: (line: string) => void): void {
    const splitter = new LineSplitter();
    const emit = (lines: string[]): void => {
      for (const line of lines) {
        const prefixed = `[${this.role}] ${line}`;
        this.#recent.push(prefixed);
        if (this.#recent.length > RECENT_LINES) this.#recent.shift();
        write(prefixed);
      }
    };
    stream.on('data', (chunk: Buffer) => emit(splitter.push(chunk)));
    stream.on('end', () => emit(splitter.end()));
    stream.on('error', () => undefined);
  }
}
