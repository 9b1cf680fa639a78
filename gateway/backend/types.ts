// The storage backend behind the gateway, in S3 terms. Both backends (filesystem, distributed)
// implement exactly this; the S3 operations in gateway/ops/ know nothing else about storage.
// Errors are thrown as S3Error (gateway/errors.ts): NoSuchBucket, NoSuchKey, BucketNotEmpty, ...

export interface BucketInfo extends BucketSettings {
  name: string;
  /** Account id of the creator; a bucket belongs to one account. */
  owner: string;
  created: Date;
  /** LocationConstraint given at creation ('' = the default region). */
  region: string;
}

/** One bucket CORS rule (PutBucketCors), validated by gateway/s3/cors.ts. */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** Bucket configuration kept with the bucket (changed through Backend.updateBucketSettings). */
export interface BucketSettings {
  /** CORS rules; absent = no CORS configuration. */
  cors?: CorsRule[];
  /** Versioning state once set; absent = never versioned. Versions are not kept, so only Suspended. */
  versioning?: 'Suspended';
}

/** An object tag (S3 object tagging). */
export interface ObjectTag {
  key: string;
  value: string;
}

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** A whole-object checksum verified at PUT, base64 as on the wire (x-amz-checksum-<algorithm>). */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
  /** FULL_OBJECT when absent; COMPOSITE for a checksum of part checksums (multipart). */
  type?: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface ObjectMetadata {
  /** Content-Type as sent by the client at PUT (default binary/octet-stream). */
  contentType: string;
  /** x-amz-meta-* headers, names lower-cased WITHOUT the prefix. */
  userMetadata: Record<string, string>;
  /** Standard headers S3 stores and returns as-is. */
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

export interface ObjectInfo extends ObjectMetadata {
  key: string;
  size: number;
  /** Quoted ETag as S3 returns it, e.g. "\"9e107d9d372bb6826bd81d3542a419d6\"". */
  etag: string;
  lastModified: Date;
  versionId?: string;
  /** Object tags; absent or empty = none. */
  tags?: ObjectTag[];
  /** The checksum verified when the object was written, if the client sent one. */
  checksum?: StoredChecksum;
  /** Objects made by multipart upload: the size of each part, in order (GET ?partNumber=N). */
  partSizes?: number[];
}

export interface PutResult {
  etag: string;
  versionId?: string;
  size: number;
  lastModified: Date;
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: AsyncIterable<Buffer>;
  metadata: ObjectMetadata;
  /** Declared length (Content-Length or x-amz-decoded-content-length); the body must match it. */
  expectedSize?: number;
  /** Raw 16-byte MD5 from Content-MD5; the object is not committed when it differs (BadDigest). */
  expectedMd5?: Buffer;
  /**
   * Called after the whole body was received and before the object is committed; throwing aborts the PUT
   * (the auth layer uses it for payload-hash / chunk-signature / trailing-checksum verification).
   */
  beforeCommit?: () => Promise<void> | void;
  /** Tags stored with the object (x-amz-tagging); none when absent. */
  tags?: ObjectTag[];
  /** Read after beforeCommit succeeded: the verified checksum to store with the object, if any. */
  checksum?: () => StoredChecksum | undefined;
}

/** Inclusive byte range [start, end] already resolved against the object size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetObjectResult {
  info: ObjectInfo;
  /** The range actually served, absent for the whole object. */
  range?: ByteRange;
  body: AsyncIterable<Buffer>;
  /** The same content when the backend holds it in memory (inline objects): sent without a stream. */
  bytes?: Buffer;
}

export interface ListObjectsInput {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Exclusive lower bound: only keys (or common prefixes) strictly after this one. '' = from the start. */
  after: string;
  /** 0..1000 entries (keys + common prefixes). */
  maxKeys: number;
}

export interface ListObjectsResult {
  contents: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** When truncated: the last key or common prefix returned; pass it as `after` to continue. */
  nextAfter?: string;
}

/** Chooses the byte range once the object size is known (ranges depend on it). */
export type RangeResolver = (info: ObjectInfo) => ByteRange | undefined;

export interface Backend {
  readonly kind: string;
  createBucket(name: string, owner: string, region: string): Promise<BucketInfo>;
  /**
   * `cached`: a record the backend read a moment ago will do (object operations' ownership check;
   * the backend's commits still verify the bucket). Default: read it now.
   */
  headBucket(name: string, options?: { cached?: boolean }): Promise<BucketInfo>;
  deleteBucket(name: string): Promise<void>;
  listBuckets(owner?: string): Promise<BucketInfo[]>;
  /**
   * Changes a bucket's settings atomically: `change` gets the current settings and returns the new
   * ones (it may run more than once when a concurrent change wins; it must not have side effects).
   */
  updateBucketSettings(
    name: string,
    change: (current: BucketSettings) => BucketSettings,
  ): Promise<BucketInfo>;

  putObject(input: PutObjectInput): Promise<PutResult>;
  /**
   * Reads an object. `check` runs against the stored metadata before any byte is read (conditional
   * headers throw from there); `range` picks the bytes to serve.
   */
  getObject(
    bucket: string,
    key: string,
    options?: { check?: (info: ObjectInfo) => void; range?: RangeResolver },
  ): Promise<GetObjectResult>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  /** Deleting a missing key succeeds (S3 semantics); a missing bucket throws NoSuchBucket. */
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(input: ListObjectsInput): Promise<ListObjectsResult>;
  /**
   * Replaces the tags of the current object (an empty list removes them), as a compare-and-set on
   * its record: a concurrent overwrite is never undone. Throws NoSuchKey / NoSuchBucket.
   */
  setObjectTags(bucket: string, key: string, tags: ObjectTag[]): Promise<ObjectInfo>;

  /** Multipart uploads; a backend without them answers NotImplemented. */
  readonly multipart?: MultipartBackend;

  /** Resolves when the backend can serve requests (readiness probe); throws with the reason otherwise. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

// ---- multipart upload ------------------------------------------------------------------------------

export interface MultipartUploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
  /** Account id of the initiator. */
  owner: string;
  metadata: ObjectMetadata;
}

export interface CreateMultipartUploadInput {
  bucket: string;
  key: string;
  metadata: ObjectMetadata;
  owner: string;
  /** Tags the object gets on completion (x-amz-tagging). */
  tags?: ObjectTag[];
}

export interface UploadPartInput {
  bucket: string;
  key: string;
  uploadId: string;
  /** 1..10000 */
  partNumber: number;
  body: AsyncIterable<Buffer>;
  expectedSize?: number;
  expectedMd5?: Buffer;
  beforeCommit?: () => Promise<void> | void;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  /** Quoted MD5 of the part. */
  etag: string;
  lastModified: Date;
}

export interface CompleteMultipartUploadInput {
  bucket: string;
  key: string;
  uploadId: string;
  /** As the client listed them (validated by the backend with gateway/s3/multipart-complete.ts). */
  parts: { partNumber: number; etag: string }[];
}

export interface ListPartsInput {
  bucket: string;
  key: string;
  uploadId: string;
  /** Exclusive: parts with a number above it. */
  partNumberMarker: number;
  maxParts: number;
}

export interface ListPartsResult {
  upload: MultipartUploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface ListMultipartUploadsInput {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Exclusive position: uploads of keys after keyMarker, or of keyMarker itself after uploadIdMarker. */
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
}

export interface ListMultipartUploadsResult {
  uploads: MultipartUploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

export interface MultipartBackend {
  createMultipartUpload(input: CreateMultipartUploadInput): Promise<MultipartUploadInfo>;
  uploadPart(input: UploadPartInput): Promise<PartInfo>;
  completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<PutResult>;
  /** NoSuchUpload when the upload is not (or no longer) in progress. */
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  listParts(input: ListPartsInput): Promise<ListPartsResult>;
  listMultipartUploads(input: ListMultipartUploadsInput): Promise<ListMultipartUploadsResult>;
}
