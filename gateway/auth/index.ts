// Gateway authentication and authorisation: SigV4 requests, verified bodies, credentials and policies.
export { authenticate, toRequestLike, type AuthenticateOptions } from './authenticate.ts';
export { decodeBody, VerifiedBody, type BodyVerification, type DecodeBodyOptions } from './body.ts';
export {
  AwsChunkedDecoder,
  decodeAwsChunked,
  type AwsChunkedOptions,
  type AwsChunkedResult,
} from './aws-chunked.ts';
export {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  checksumOf,
  createChecksummer,
  isValidChecksumValue,
  type ChecksumAlgorithm,
  type Checksummer,
} from './checksums.ts';
export {
  CredentialConfigError,
  CredentialStore,
  DEFAULT_ACCOUNT_ID,
  type Account,
  type AuthEntry,
  type PolicyStatement,
} from './credentials.ts';
export { ANONYMOUS, type Identity } from './identity.ts';
export {
  OPERATION_ACTIONS,
  PUBLIC_ACTIONS,
  actionFor,
  authorize,
  isAllowed,
  matchesPattern,
  type BucketAccess,
  type S3Operation,
} from './policy.ts';
export {
  S3AuthError,
  isS3AuthError,
  type RequestLike,
  type VerifiedRequest,
} from '../../shared/sigv4/index.ts';
