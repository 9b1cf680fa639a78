// The Lambda gateway's metrics: a function cannot be scraped, so the request metrics the host
// gateway serves as Prometheus text are also written as CloudWatch EMF lines (shared/metrics/emf.ts)
// to stdout, which Lambda sends to CloudWatch Logs, at the end of every invocation.
import type { FastifyInstance } from 'fastify';
import type { EmfRecorder } from '../../shared/metrics/index.ts';

export interface EmfOutput {
  recorder: EmfRecorder;
  /** Where a line goes (default in bootstrap: stdout). */
  write(line: string): void;
}

/** How long a flush waits for requests still finishing (their onResponse hook) before it writes. */
export const FLUSH_WAIT_MS = 1000;

export interface RequestTracker {
  /** Resolves once no request is in flight, or after `maxMs`. */
  settled(maxMs: number): Promise<void>;
}

/**
 * Counts the app's requests in flight. A streamed response can end (and the invocation with it)
 * just before Fastify's onResponse hooks ran, so a flush waits for them rather than losing a sample.
 */
export function trackRequests(app: FastifyInstance): RequestTracker {
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const done = (): void => {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight > 0) return;
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  };
  app.addHook('onRequest', async () => {
    inFlight++;
  });
  // Registered after the app's own onResponse hook (which records the sample), so it runs after it.
  app.addHook('onResponse', async () => done());
  app.addHook('onRequestAbort', async (_request) => done());
  return {
    settled(maxMs) {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          resolve();
        }, maxMs);
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(wake);
      });
    },
  };
}
