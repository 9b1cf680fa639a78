// Structured JSON logs (pino, as Fastify's logger) for the processes that are not Fastify apps.
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `PREDASTORE_LOG_LEVEL` when it names a pino level, else `fallback`. */
export function logLevelFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  fallback: LogLevel = 'warn',
): LogLevel {
  const value = env['PREDASTORE_LOG_LEVEL']?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(value ?? '') ? (value as LogLevel) : fallback;
}

/** One JSON object per line on stdout, with `component` (e.g. "node 3", "s3db 1") on every line. */
export function createLogger(component: string, level: LogLevel = logLevelFromEnv()): Logger {
  return pino({ level, base: { pid: process.pid, component } });
}
