/** Typed errors of the s3db service. `code` is stable and travels in JSON error bodies. */
import type { S3dbErrorCode } from '../../shared/s3db-client/errors.ts';

export type { S3dbErrorCode };

export class S3dbError extends Error {
  readonly code: S3dbErrorCode;
  constructor(code: S3dbErrorCode, message: string) {
    super(message);
    this.name = 'S3dbError';
    this.code = code;
  }
}

export const httpStatusOf: Record<S3dbErrorCode, number> = {
  InvalidTable: 400,
  InvalidKey: 400,
  InvalidCommand: 400,
  InvalidRequest: 400,
  BodyTooLarge: 413,
  NotFound: 404,
  NotLeader: 421,
  NoLeader: 503,
  Timeout: 504,
  SignatureDoesNotMatch: 403,
  AccessDenied: 403,
  Stopped: 503,
  StaleRequest: 400,
  Internal: 500,
};
