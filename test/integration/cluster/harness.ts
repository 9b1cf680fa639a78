// Runs the real `s3d` command (node bin/s3d.mjs) for integration tests and looks at its child processes
// through /proc.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter } from '../../../shared/process/line-splitter.ts';

export const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const S3D = join(ROOT, 'bin', 's3d.mjs');

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** `count` consecutive free ports in 23000–23999 (this area's range), starting from a slot. */
export async function freePortBlock(slot: number, count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 23000 + ((slot * 7 + attempt * 13) % 40) * 25;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 23000-23999');
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running `s3d`, its output collected line by line. */
export class S3dRun {
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  readonly #process: ChildProcess;
  readonly #waiters = new Set<() => void>();

  constructor(args: string[], cwd: string) {
    const env = { ...process.env };
    for (const name of ['CONFIG', 'BACKEND', 'NODE', 'DB_ONLY', 'DB_NODE', 'PORT']) delete env[name];
    this.#process = spawn(process.execPath, [S3D, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.#process.stdout, this.#process.stderr]) {
      const splitter = new LineSplitter();
      stream?.on('data', (chunk: Buffer) => this.#add(splitter.push(chunk)));
      stream?.on('end', () => this.#add(splitter.end()));
    }
    this.exited = new Promise((done) =>
      this.#process.once('close', (code, signal) => done({ code, signal })),
    );
    void this.exited.then(() => this.#notify());
  }

  get pid(): number {
    return this.#process.pid ?? -1;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill(signal);
  }

  /** The first line matching `pattern`; throws (with the output so far) on timeout or exit. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = line.match(pattern);
        if (match) return match;
      }
      const exited = this.#process.exitCode !== null || this.#process.signalCode !== null;
      const left = deadline - Date.now();
      if (exited || left <= 0)
        throw new Error(
          `no line matching ${pattern} (${exited ? 's3d exited' : 'timed out'}); output:\n${this.output}`,
        );
      await new Promise<void>((done) => {
        const timer = setTimeout(finish, left);
        function finish(): void {
          clearTimeout(timer);
          waiters.delete(finish);
          done();
        }
        const waiters = this.#waiters;
        waiters.add(finish);
      });
    }
  }

  #add(lines: string[]): void {
    if (lines.length === 0) return;
    this.lines.push(...lines);
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string[];
}

/** Processes whose parent is `ppid`, with their command lines, from /proc. */
export async function childrenOf(ppid: number): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name (2nd field) may contain spaces and parentheses: fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      found.push({ pid: Number(entry), ppid, args: cmdline.split('\0').filter((a) => a !== '') });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` is running; returns those still alive at the deadline. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** The role a dev-cluster child shows on its command line: "node 3", "s3db 1", or undefined. */
export function roleOf(args: readonly string[]): string | undefined {
  const at = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const db = at('-db-node');
  if (db !== undefined && args.includes('-db')) return `s3db ${db}`;
  const node = at('-node');
  return node === undefined ? undefined : `node ${node}`;
}
