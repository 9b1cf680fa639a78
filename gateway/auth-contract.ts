// What the gateway needs from authentication, independent of how it is done. The SigV4
// implementation lives in gateway/auth/ (another module); gateway/auth-adapter.ts binds it to this.
import type { OperationName } from './s3/route.ts';
import type { ChecksumAlgorithm } from './backend/types.ts';

/** The request as signed: raw path and query as sent, lower-case header names. */
export interface AuthRequest {
  method: string;
  rawPath: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Identity {
  accessKeyId: string;
  accountId: string;
}

export interface VerifiedBody {
  /** The object bytes (aws-chunked framing removed). Errors surface while iterating. */
  body: AsyncIterable<Buffer>;
  /** Length of the object bytes when the request declared it. */
  decodedLength?: number;
  /** Resolves once the whole body was verified (payload hash, chunk signatures, trailing checksums). */
  verified(): Promise<void>;
  /** After verified() resolved: the x-amz-checksum-* the client sent (header or trailer), verified; undefined if none. */
  checksum?(): { algorithm: ChecksumAlgorithm; value: string } | undefined;
}

export interface GatewayAuth {
  /** Throws an error carrying an S3 `code` and HTTP `status` when the request is not authentic. */
  authenticate(request: AuthRequest): Promise<Identity> | Identity;
  decodeBody(request: AuthRequest, identity: Identity, raw: AsyncIterable<Buffer>): VerifiedBody;
  isAllowed(identity: Identity, action: string, bucket: string | undefined): boolean;
}

/** IAM action each operation needs (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). */
export const ACTION_OF: Record<OperationName, string> = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  HeadBucket: 's3:ListBucket',
  DeleteBucket: 's3:DeleteBucket',
  GetBucketLocation: 's3:GetBucketLocation',
  ListObjectsV2: 's3:ListBucket',
  ListObjects: 's3:ListBucket',
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  // The source is checked separately with s3:GetObject on the source bucket.
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  CopyObject: 's3:PutObject',
  // Checked per key (each failing key reports AccessDenied in the result), not for the request.
  DeleteObjects: 's3:DeleteObject',
  ListObjectVersions: 's3:ListBucketVersions',
  GetBucketVersioning: 's3:GetBucketVersioning',
  PutBucketVersioning: 's3:PutBucketVersioning',
  GetObjectTagging: 's3:GetObjectTagging',
  PutObjectTagging: 's3:PutObjectTagging',
  DeleteObjectTagging: 's3:DeleteObjectTagging',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
};
