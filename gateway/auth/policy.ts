// Authorisation: S3 operation → IAM action, and whether an identity may perform it on a bucket.
import { S3AuthError } from '../../shared/sigv4/index.ts';
import type { Identity } from './identity.ts';

/** S3 API operation names and the IAM action each one needs (as AWS documents them). */
export const OPERATION_ACTIONS = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  DeleteBucket: 's3:DeleteBucket',
  HeadBucket: 's3:ListBucket',
  GetBucketLocation: 's3:GetBucketLocation',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  GetObjectAttributes: 's3:GetObjectAttributes',
  PutObject: 's3:PutObject',
  CopyObject: 's3:PutObject',
  DeleteObject: 's3:DeleteObject',
  DeleteObjects: 's3:DeleteObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetObjectTagging: 's3:GetObjectTagging',
  PutObjectTagging: 's3:PutObjectTagging',
  DeleteObjectTagging: 's3:DeleteObjectTagging',
  GetBucketTagging: 's3:GetBucketTagging',
  PutBucketTagging: 's3:PutBucketTagging',
  DeleteBucketTagging: 's3:PutBucketTagging',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  GetBucketVersioning: 's3:GetBucketVersioning',
  PutBucketVersioning: 's3:PutBucketVersioning',
  GetObjectAcl: 's3:GetObjectAcl',
  PutObjectAcl: 's3:PutObjectAcl',
  GetBucketAcl: 's3:GetBucketAcl',
  PutBucketAcl: 's3:PutBucketAcl',
  GetBucketPolicy: 's3:GetBucketPolicy',
  PutBucketPolicy: 's3:PutBucketPolicy',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
} as const;

export type S3Operation = keyof typeof OPERATION_ACTIONS;

export function actionFor(operation: S3Operation): string {
  return OPERATION_ACTIONS[operation];
}

/** Actions an anonymous request may perform on a bucket configured `public = true`. */
export const PUBLIC_ACTIONS: readonly string[] = ['s3:GetObject', 's3:ListBucket'];

/** What the caller knows about the bucket a request targets. */
export interface BucketAccess {
  /** Account id that created the bucket; undefined for buckets declared in the config file (shared). */
  owner?: string;
  /** `[[buckets]] public = true`: anonymous reads allowed. */
  public?: boolean;
}

/** Case-insensitive glob match where `*` stands for any run of characters. */
export function matchesPattern(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (p === '*') return true;
  if (!p.includes('*')) return p === v;
  const parts = p.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!v.startsWith(first) || v.length < first.length + last.length || !v.endsWith(last)) return false;
  let pos = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = v.indexOf(middle, pos);
    if (found < 0 || found + middle.length > v.length - last.length) return false;
    pos = found + middle.length;
  }
  return true;
}

/**
 * May `identity` perform `action` (e.g. 's3:GetObject') on `bucket`? `bucket` is undefined for
 * account-level actions (s3:ListAllMyBuckets). Rules, in order (docs/auth.md):
 *  1. anonymous: only PUBLIC_ACTIONS on a public bucket;
 *  2. a bucket owned by another account: never (no cross-account access);
 *  3. an account without policy statements: everything else;
 *  4. otherwise a statement must name the bucket (pattern) and the action (pattern; `*`, `s3:*`, `s3:Get*`);
 *     for account-level actions any statement that lists the action grants it.
 */
export function isAllowed(
  identity: Identity,
  action: string,
  bucket: string | undefined,
  access: BucketAccess = {},
): boolean {
  if (identity.anonymous) {
    return (
      bucket !== undefined && access.public === true && PUBLIC_ACTIONS.some((a) => matchesPattern(a, action))
    );
  }
  if (bucket !== undefined && access.owner !== undefined && access.owner !== identity.accountId) return false;
  if (identity.policy.length === 0) return true;
  return identity.policy.some(
    (statement) =>
      (bucket === undefined || matchesPattern(statement.bucket, bucket)) &&
      statement.actions.some((pattern) => matchesPattern(pattern, action)),
  );
}

/** Throws AccessDenied (403) unless `isAllowed`. */
export function authorize(
  identity: Identity,
  action: string,
  bucket: string | undefined,
  access: BucketAccess = {},
): void {
  if (!isAllowed(identity, action, bucket, access)) {
    throw new S3AuthError('AccessDenied', 'Access Denied', {
      Action: action,
      ...(bucket === undefined ? {} : { BucketName: bucket }),
    });
  }
}
