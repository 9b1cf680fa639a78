/** S3 error codes produced by authentication and body verification, with their HTTP status. */
export const S3_AUTH_ERROR_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  IncompleteBody: 400,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidChunkSizeError: 403,
  InvalidDigest: 400,
  InvalidRequest: 400,
  MalformedTrailerError: 400,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NotImplemented: 501,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3AuthErrorCode = keyof typeof S3_AUTH_ERROR_STATUS;

/** A typed authentication/verification failure: `code` is the S3 error code, `status` the HTTP status. */
export class S3AuthError extends Error {
  readonly code: S3AuthErrorCode;
  readonly status: number;
  /** Extra fields S3 puts into the error XML (e.g. RequestTime, ServerTime, StringToSign). */
  readonly details: Readonly<Record<string, string>>;

  constructor(code: S3AuthErrorCode, message: string, details: Record<string, string> = {}) {
    super(message);
    this.name = 'S3AuthError';
    this.code = code;
    this.status = S3_AUTH_ERROR_STATUS[code];
    this.details = details;
  }
}

export function isS3AuthError(error: unknown): error is S3AuthError {
  return error instanceof S3AuthError;
}
