// Typed S3 errors: every failure the gateway reports to a client is one of these.
// The HTTP layer renders them as S3 XML error documents with the status they carry.

export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra elements rendered into the error document (e.g. BucketName, Key, ActualObjectSize). */
  readonly details: Readonly<Record<string, string>>;
  /** Response headers the error needs (e.g. Allow for MethodNotAllowed). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    message: string,
    status: number,
    options: { details?: Record<string, string>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

export function isS3Error(value: unknown): value is S3Error {
  return value instanceof S3Error;
}

export const NoSuchBucket = (bucket: string): S3Error =>
  new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, {
    details: { BucketName: bucket },
  });

export const NoSuchKey = (key: string): S3Error =>
  new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { details: { Key: key } });

export const BucketAlreadyOwnedByYou = (bucket: string): S3Error =>
  new S3Error(
    'BucketAlreadyOwnedByYou',
    'Your previous request to create the named bucket succeeded and you already own it.',
    409,
    { details: { BucketName: bucket } },
  );

export const BucketAlreadyExists = (bucket: string): S3Error =>
  new S3Error(
    'BucketAlreadyExists',
    'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
    409,
    { details: { BucketName: bucket } },
  );

export const BucketNotEmpty = (bucket: string): S3Error =>
  new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
    details: { BucketName: bucket },
  });

export const InvalidBucketName = (bucket: string, why: string): S3Error =>
  new S3Error('InvalidBucketName', `The specified bucket is not valid: ${why}`, 400, {
    details: { BucketName: bucket },
  });

export const KeyTooLong = (): S3Error =>
  new S3Error('KeyTooLongError', 'Your key is too long (at most 1024 bytes of UTF-8).', 400);

export const InvalidRange = (objectSize: number): S3Error =>
  new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
    details: { ActualObjectSize: String(objectSize) },
    headers: { 'content-range': `bytes */${objectSize}` },
  });

export const PreconditionFailed = (condition: string): S3Error =>
  new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, {
    details: { Condition: condition },
  });

export const BadDigest = (): S3Error =>
  new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);

export const InvalidDigest = (): S3Error =>
  new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.', 400);

export const EntityTooLarge = (maxSize: number): S3Error =>
  new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.', 400, {
    details: { MaxSizeAllowed: String(maxSize) },
  });

export const IncompleteBody = (): S3Error =>
  new S3Error(
    'IncompleteBody',
    'You did not provide the number of bytes specified by the Content-Length HTTP header',
    400,
  );

export const MissingContentLength = (): S3Error =>
  new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411);

export const MalformedXML = (why?: string): S3Error =>
  new S3Error(
    'MalformedXML',
    why === undefined
      ? 'The XML you provided was not well-formed or did not validate against our published schema.'
      : `The XML you provided was not well-formed or did not validate against our published schema: ${why}`,
    400,
  );

export const InvalidArgument = (message: string, name?: string, value?: string): S3Error =>
  new S3Error('InvalidArgument', message, 400, {
    details: {
      ...(name === undefined ? {} : { ArgumentName: name }),
      ...(value === undefined ? {} : { ArgumentValue: value }),
    },
  });

export const InvalidLocationConstraint = (location: string): S3Error =>
  new S3Error('InvalidLocationConstraint', 'The specified location-constraint is not valid', 400, {
    details: { LocationConstraint: location },
  });

export const NotImplemented = (what: string): S3Error =>
  new S3Error(
    'NotImplemented',
    `A header or query you provided implies functionality that is not implemented: ${what}`,
    501,
  );

export const AccessDenied = (message = 'Access Denied'): S3Error => new S3Error('AccessDenied', message, 403);

export const InternalError = (cause?: unknown): S3Error =>
  new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500, { cause });

export const ServiceUnavailable = (message = 'Please reduce your request rate.'): S3Error =>
  new S3Error('ServiceUnavailable', message, 503);

export const SlowDown = (): S3Error => new S3Error('SlowDown', 'Please reduce your request rate.', 503);

export const MethodNotAllowed = (method: string, resource: string, allow: readonly string[]): S3Error =>
  new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, {
    details: { Method: method, ResourceType: resource },
    headers: { allow: allow.join(', ') },
  });

export const InvalidRequest = (message: string): S3Error => new S3Error('InvalidRequest', message, 400);

// ---- multipart upload ----
export const NoSuchUpload = (uploadId: string): S3Error =>
  new S3Error(
    'NoSuchUpload',
    'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.',
    404,
    { details: { UploadId: uploadId } },
  );

export const InvalidPart = (partNumber: number, etag: string): S3Error =>
  new S3Error(
    'InvalidPart',
    "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
    400,
    { details: { PartNumber: String(partNumber), ETag: etag } },
  );

export const InvalidPartOrder = (): S3Error =>
  new S3Error(
    'InvalidPartOrder',
    'The list of parts was not in ascending order. Parts list must be specified in order by part number.',
    400,
  );

export const EntityTooSmall = (partNumber: number, size: number, minSize: number): S3Error =>
  new S3Error(
    'EntityTooSmall',
    'Your proposed upload is smaller than the minimum allowed object size.',
    400,
    {
      details: {
        ProposedSize: String(size),
        MinSizeAllowed: String(minSize),
        PartNumber: String(partNumber),
      },
    },
  );

export const InvalidPartNumber = (): S3Error =>
  new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416);

export const InvalidURI = (): S3Error => new S3Error('InvalidURI', "Couldn't parse the specified URI.", 400);
