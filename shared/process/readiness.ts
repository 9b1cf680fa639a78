// The child side of supervision. A child started by a supervisor has an IPC channel to it: it says
// "ready" over that channel once it serves, and stops by itself when the channel closes (the
// supervisor is gone, even by kill -9), so a dead supervisor never leaves orphans listening on ports.
// Started by hand or by systemd there is no channel, and both calls do nothing.

export interface ReadyMessage {
  type: 's3d-ready';
  role: string;
  /** What the child serves (addresses, ports); shown by the supervisor. */
  detail: Record<string, unknown>;
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  return (
    m['type'] === 's3d-ready' &&
    typeof m['role'] === 'string' &&
    typeof m['detail'] === 'object' &&
    m['detail'] !== null
  );
}

/** True when this process was started by a supervisor (it has an IPC channel). */
export function hasSupervisor(): boolean {
  return typeof process.send === 'function' && process.connected;
}

/** Tells the supervisor, if any, that this process serves. */
export function announceReady(role: string, detail: Record<string, unknown>): void {
  if (!hasSupervisor()) return;
  const message: ReadyMessage = { type: 's3d-ready', role, detail };
  process.send?.(message);
}

/**
 * Calls `onGone` once when the supervisor's channel closes. Returns a function that stops watching.
 * The channel is unreferenced so that it alone never keeps this process alive.
 */
export function watchSupervisor(onGone: () => void): () => void {
  if (!hasSupervisor()) return () => {};
  process.channel?.unref();
  process.once('disconnect', onGone);
  return () => process.off('disconnect', onGone);
}
