// SIGTERM and SIGINT (Ctrl-C) as one "please stop" event.

export type StopSignal = 'SIGTERM' | 'SIGINT';

/**
 * Calls `handler` for every SIGTERM / SIGINT this process receives (the first one starts a clean
 * stop; the caller decides what a second one means). Returns a function that removes the handlers.
 */
export function onStopSignal(handler: (signal: StopSignal) => void): () => void {
  const term = (): void => handler('SIGTERM');
  const int = (): void => handler('SIGINT');
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  return () => {
    process.off('SIGTERM', term);
    process.off('SIGINT', int);
  };
}
