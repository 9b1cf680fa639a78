export { runWithRequestId, currentRequestId, REQUEST_ID_HEADER } from './request-context.ts';
export { createLogger, logLevelFromEnv, LOG_LEVELS } from './logger.ts';
export type { Logger, LogLevel } from './logger.ts';
