// How a process ended, in words an operator can act on. Pure.

export interface ExitStatus {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(status: ExitStatus): string {
  if (status.signal !== null) return `was killed by ${status.signal}`;
  if (status.code === null) return 'ended (no exit code or signal reported)';
  return `exited with code ${status.code}`;
}

/** A clean stop: exit code 0, or the SIGTERM/SIGINT we sent it ourselves. */
export function isCleanExit(status: ExitStatus, stopSignalSent: boolean): boolean {
  if (status.code === 0) return true;
  return stopSignalSent && (status.signal === 'SIGTERM' || status.signal === 'SIGINT');
}
