// Multipart uploads of the filesystem backend. Layout under the bucket folder:
//
//   <bucket>/uploads/<uploadId>/upload.json          key, initiator, initiation time, object metadata
//   <bucket>/uploads/<uploadId>/part-NNNNN.<random>  a part's bytes
//   <bucket>/uploads/<uploadId>/part-NNNNN.json      its size, MD5, time and data file name; renaming it
//                                                    into place commits the part (last writer wins)
//
// Completion streams the listed parts, in order, into a new object version through the backend's
// ordinary atomic PUT path (temp file + fsync + rename), recording the multipart ETag and the part
// sizes, then removes the upload folder. Upload ids are 16 bytes (be48 ms + random) in hex, so one
// key's uploads sort by initiation time.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BadDigest, IncompleteBody, NoSuchUpload, S3Error } from '../../errors.ts';
import type {
  CompleteMultipartUploadInput,
  CreateMultipartUploadInput,
  ListMultipartUploadsInput,
  ListMultipartUploadsResult,
  ListPartsInput,
  ListPartsResult,
  MultipartBackend,
  MultipartUploadInfo,
  ObjectMetadata,
  ObjectTag,
  PartInfo,
  PutObjectInput,
  PutResult,
  UploadPartInput,
} from '../types.ts';
import { planCompletion } from '../../s3/multipart-complete.ts';
import { arraySource, compareUploads, pageUploads } from '../../s3/multipart-uploads-page.ts';
import { ensureDirectory, fsyncDirectory, writeFileAtomic } from './durable.ts';
import { KeyedMutex } from './keyed-mutex.ts';

const UPLOADS_DIR = 'uploads';
const UPLOAD_FILE = 'upload.json';
const READ_CHUNK = 1024 * 1024;

/** What the multipart code needs from the filesystem backend. */
export interface FilesystemMultipartHost {
  basePath: string;
  /** A fresh path in the backend's temp folder (same file system). */
  tempPath(): string;
  /** Throws NoSuchBucket. */
  requireBucket(bucket: string): Promise<unknown>;
  /** The backend's atomic PUT, recording `etag` (unquoted) and the part sizes instead of the body's MD5. */
  putAssembled(input: PutObjectInput, assembled: { etag: string; partSizes: number[] }): Promise<PutResult>;
}

interface StoredUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: string;
  owner: string;
  metadata: ObjectMetadata;
  tags?: ObjectTag[];
}

interface StoredPart {
  partNumber: number;
  size: number;
  md5: string;
  lastModified: string;
  file: string;
}

const partName = (n: number): string => `part-${String(n).padStart(5, '0')}`;

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function toUploadInfo(stored: StoredUpload): MultipartUploadInfo {
  return {
    bucket: stored.bucket,
    key: stored.key,
    uploadId: stored.uploadId,
    initiated: new Date(stored.initiated),
    owner: stored.owner,
    metadata: stored.metadata,
  };
}

function toPartInfo(part: StoredPart): PartInfo {
  return {
    partNumber: part.partNumber,
    size: part.size,
    etag: `"${part.md5}"`,
    lastModified: new Date(part.lastModified),
  };
}

export class FilesystemMultipart implements MultipartBackend {
  private readonly locks = new KeyedMutex();

  constructor(private readonly host: FilesystemMultipartHost) {}

  private uploadsDir(bucket: string): string {
    return join(this.host.basePath, bucket, UPLOADS_DIR);
  }

  private uploadDir(bucket: string, uploadId: string): string {
    return join(this.uploadsDir(bucket), uploadId);
  }

  /** The upload, if it exists for this key; NoSuchUpload otherwise (also for a malformed id). */
  private async readUpload(bucket: string, key: string, uploadId: string): Promise<StoredUpload> {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw NoSuchUpload(uploadId);
    let stored: StoredUpload;
    try {
      stored = JSON.parse(
        await readFile(join(this.uploadDir(bucket, uploadId), UPLOAD_FILE), 'utf8'),
      ) as StoredUpload;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) throw NoSuchUpload(uploadId);
      throw error;
    }
    if (stored.key !== key) throw NoSuchUpload(uploadId);
    return stored;
  }

  private async readParts(bucket: string, uploadId: string): Promise<Map<number, StoredPart>> {
    const dir = this.uploadDir(bucket, uploadId);
    const parts = new Map<number, StoredPart>();
    for (const name of await readdir(dir)) {
      if (!/^part-\d{5}\.json$/.test(name)) continue;
      const part = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredPart;
      parts.set(part.partNumber, part);
    }
    return parts;
  }

  /** Whether the bucket has uploads in progress (DeleteBucket refuses then, as for objects). */
  async hasUploads(bucket: string): Promise<boolean> {
    try {
      return (await readdir(this.uploadsDir(bucket))).length > 0;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<MultipartUploadInfo> {
    await this.host.requireBucket(input.bucket);
    const id = randomBytes(16);
    id.writeUIntBE(Date.now(), 0, 6);
    const uploadId = id.toString('hex');
    const stored: StoredUpload = {
      bucket: input.bucket,
      key: input.key,
      uploadId,
      initiated: new Date().toISOString(),
      owner: input.owner,
      metadata: input.metadata,
      ...(input.tags === undefined || input.tags.length === 0 ? {} : { tags: input.tags }),
    };
    const uploads = this.uploadsDir(input.bucket);
    await ensureDirectory(uploads);
    // The upload folder appears whole (with its upload.json) or not at all.
    const staging = this.host.tempPath();
    await mkdir(staging);
    await writeFileAtomic(join(staging, 'upload.tmp'), join(staging, UPLOAD_FILE), JSON.stringify(stored));
    await rename(staging, join(uploads, uploadId));
    await fsyncDirectory(uploads);
    return toUploadInfo(stored);
  }

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    const { bucket, key, uploadId, partNumber } = input;
    await this.host.requireBucket(bucket);
    await this.readUpload(bucket, key, uploadId);
    const temp = this.host.tempPath();
    const dir = this.uploadDir(bucket, uploadId);
    const dataName = `${partName(partNumber)}.${randomBytes(6).toString('hex')}`;
    let placed = false;
    try {
      const md5 = createHash('md5');
      let size = 0;
      let digest = Buffer.alloc(0);
      const data = await open(temp, 'wx', 0o644);
      try {
        for await (const chunk of input.body) {
          md5.update(chunk);
          size += chunk.length;
          if (input.expectedSize !== undefined && size > input.expectedSize)
            throw new S3Error('IncompleteBody', 'The request body is longer than its declared length', 400);
          await writeAll(data, chunk);
        }
        if (input.expectedSize !== undefined && size !== input.expectedSize) throw IncompleteBody();
        digest = md5.digest();
        if (input.expectedMd5 !== undefined && !digest.equals(input.expectedMd5)) throw BadDigest();
        if (input.beforeCommit !== undefined) await input.beforeCommit();
        await data.sync();
      } finally {
        await data.close();
      }
      const part: StoredPart = {
        partNumber,
        size,
        md5: digest.toString('hex'),
        lastModified: new Date().toISOString(),
        file: dataName,
      };
      return await this.locks.run(uploadId, async () => {
        await this.readUpload(bucket, key, uploadId);
        await rename(temp, join(dir, dataName));
        placed = true;
        await fsyncDirectory(dir);
        const metaPath = join(dir, `${partName(partNumber)}.json`);
        let previous: StoredPart | undefined;
        try {
          previous = JSON.parse(await readFile(metaPath, 'utf8')) as StoredPart;
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
        await writeFileAtomic(this.host.tempPath(), metaPath, JSON.stringify(part));
        if (previous !== undefined && previous.file !== dataName)
          await unlink(join(dir, previous.file)).catch(() => undefined);
        return toPartInfo(part);
      });
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      if (placed) await unlink(join(dir, dataName)).catch(() => undefined);
      throw error;
    }
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<PutResult> {
    const { bucket, key, uploadId } = input;
    await this.host.requireBucket(bucket);
    return this.locks.run(uploadId, async () => {
      const upload = await this.readUpload(bucket, key, uploadId);
      const stored = await this.readParts(bucket, uploadId);
      const plan = planCompletion(input.parts, stored);
      const dir = this.uploadDir(bucket, uploadId);
      const result = await this.host.putAssembled(
        {
          bucket,
          key,
          body: concatenate(plan.parts.map((p) => join(dir, p.file))),
          metadata: upload.metadata,
          expectedSize: plan.size,
          ...(upload.tags === undefined ? {} : { tags: upload.tags }),
        },
        { etag: plan.etag, partSizes: plan.parts.map((p) => p.size) },
      );
      await this.removeUpload(bucket, uploadId);
      return result;
    });
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.host.requireBucket(bucket);
    await this.locks.run(uploadId, async () => {
      await this.readUpload(bucket, key, uploadId);
      await this.removeUpload(bucket, uploadId);
    });
  }

  private async removeUpload(bucket: string, uploadId: string): Promise<void> {
    const graveyard = this.host.tempPath();
    await rename(this.uploadDir(bucket, uploadId), graveyard);
    await fsyncDirectory(this.uploadsDir(bucket));
    await rm(graveyard, { recursive: true, force: true });
  }

  async listParts(input: ListPartsInput): Promise<ListPartsResult> {
    await this.host.requireBucket(input.bucket);
    const upload = await this.readUpload(input.bucket, input.key, input.uploadId);
    const all = [...(await this.readParts(input.bucket, input.uploadId)).values()]
      .filter((p) => p.partNumber > input.partNumberMarker)
      .sort((a, b) => a.partNumber - b.partNumber);
    const parts = all.slice(0, input.maxParts).map(toPartInfo);
    const isTruncated = all.length > parts.length;
    const result: ListPartsResult = { upload: toUploadInfo(upload), parts, isTruncated };
    const last = parts[parts.length - 1];
    if (isTruncated && last !== undefined) result.nextPartNumberMarker = last.partNumber;
    return result;
  }

  async listMultipartUploads(input: ListMultipartUploadsInput): Promise<ListMultipartUploadsResult> {
    await this.host.requireBucket(input.bucket);
    const uploads: (MultipartUploadInfo & { uploadId: string })[] = [];
    let names: string[] = [];
    try {
      names = await readdir(this.uploadsDir(input.bucket));
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    for (const name of names) {
      try {
        const stored = JSON.parse(
          await readFile(join(this.uploadsDir(input.bucket), name, UPLOAD_FILE), 'utf8'),
        ) as StoredUpload;
        if (stored.key.startsWith(input.prefix)) uploads.push(toUploadInfo(stored));
      } catch (error) {
        // Completed or aborted while we listed.
        if (!isErrno(error, 'ENOENT') && !isErrno(error, 'ENOTDIR')) throw error;
      }
    }
    uploads.sort(compareUploads);
    const page = await pageUploads(arraySource(uploads), input);
    const result: ListMultipartUploadsResult = {
      uploads: page.uploads,
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
    };
    if (page.nextKeyMarker !== undefined) result.nextKeyMarker = page.nextKeyMarker;
    if (page.nextUploadIdMarker !== undefined) result.nextUploadIdMarker = page.nextUploadIdMarker;
    return result;
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** The files' bytes one after another, read in 1 MiB pieces (one file open at a time). */
async function* concatenate(paths: readonly string[]): AsyncGenerator<Buffer> {
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead === 0) break;
        yield bytesRead === READ_CHUNK ? buffer : buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
}
