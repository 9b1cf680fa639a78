/** Error codes the s3db API returns in JSON `error.code`; the server (appliance/s3db) raises exactly these. */
export type S3dbErrorCode =
  | 'InvalidTable'
  | 'InvalidKey'
  | 'InvalidCommand'
  | 'InvalidRequest'
  | 'BodyTooLarge'
  | 'NotFound'
  | 'NotLeader'
  | 'NoLeader'
  | 'Timeout'
  | 'SignatureDoesNotMatch'
  | 'AccessDenied'
  | 'Stopped'
  | 'StaleRequest'
  | 'Internal';

/** The API's codes plus client-side ones (`Unavailable`), and codes from newer servers. */
export type S3dbClientErrorCode = S3dbErrorCode | 'Unavailable' | (string & {});

export class S3dbClientError extends Error {
  readonly code: S3dbClientErrorCode;
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  /** True when the operation certainly did not take effect (safe to retry anything). */
  readonly notApplied: boolean;

  constructor(code: S3dbClientErrorCode, message: string, status = 0, notApplied = false) {
    super(message);
    this.name = 'S3dbClientError';
    this.code = code;
    this.status = status;
    this.notApplied = notApplied;
  }
}
