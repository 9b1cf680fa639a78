// Filesystem backend (spec §2 `-backend filesystem`): a single node keeps objects as files under
// base_path with their metadata beside them. Layout:
//
//   <base>/.lock                                  pid of the owning process
//   <base>/.tmp/                                  temp files (same file system → atomic renames)
//   <base>/<bucket>/bucket.json                   owner, creation date, region
//   <base>/<bucket>/objects/<h2>/<h>.<version>    object data (h = sha256 of the key, h2 = its first 2 hex)
//   <base>/<bucket>/objects/<h2>/<h>.json         object metadata; its rename commits a PUT
//
// Every PUT writes a new version file (fsync, rename, fsync dir), then renames the metadata over the
// old one: a crash at any point leaves either the old or the new object, never a mix. Orphaned
// version files are removed when the bucket is loaded. One process owns a base_path (lock file).
import { createHash, randomBytes } from 'node:crypto';
import {
  access,
  constants as fsConstants,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BadDigest,
  BucketAlreadyExists,
  BucketAlreadyOwnedByYou,
  BucketNotEmpty,
  IncompleteBody,
  InternalError,
  NoSuchBucket,
  NoSuchKey,
  S3Error,
} from '../../errors.ts';
import type {
  Backend,
  BucketInfo,
  BucketSettings,
  ObjectTag,
  GetObjectResult,
  ListObjectsInput,
  ListObjectsResult,
  ObjectInfo,
  PutObjectInput,
  PutResult,
  RangeResolver,
} from '../types.ts';
import { KeyIndex } from './key-index.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { ensureDirectory, fsyncDirectory, writeFileAtomic } from './durable.ts';
import { DirectorySyncer } from './directory-syncer.ts';
import { FilesystemMultipart } from './multipart.ts';

const BUCKET_FILE = 'bucket.json';
const OBJECTS_DIR = 'objects';
const TMP_DIR = '.tmp';
const LOCK_FILE = '.lock';
const READ_CHUNK = 256 * 1024;

interface StoredObject {
  key: string;
  versionId: string;
  size: number;
  etag: string;
  lastModified: string;
  contentType: string;
  userMetadata: Record<string, string>;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  tags?: ObjectInfo['tags'];
  checksum?: ObjectInfo['checksum'];
}

interface StoredBucket extends BucketSettings {
  name: string;
  owner: string;
  created: string;
  region: string;
}

function toInfo(stored: StoredObject): ObjectInfo {
  const { lastModified, ...rest } = stored;
  return { ...rest, lastModified: new Date(lastModified) };
}

function toStored(info: ObjectInfo & { versionId: string }): StoredObject {
  const { lastModified, ...rest } = info;
  return { ...rest, lastModified: lastModified.toISOString() };
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

interface LoadedBucket {
  info: BucketInfo;
  /** The key index, scanned from disk on the first object operation (ListBuckets/HeadBucket skip it). */
  index?: Promise<KeyIndex>;
}

export interface FilesystemBackendOptions {
  basePath: string;
}

export class FilesystemBackend implements Backend {
  readonly kind = 'filesystem';
  private readonly base: string;
  private readonly tmp: string;
  private readonly buckets = new Map<string, Promise<LoadedBucket | undefined>>();
  private readonly keyLocks = new KeyedMutex();
  private readonly bucketLocks = new KeyedMutex();
  private readonly dirSyncer = new DirectorySyncer();
  private closed = false;
  readonly multipart: FilesystemMultipart;

  private constructor(basePath: string) {
    this.base = basePath;
    this.tmp = join(basePath, TMP_DIR);
    this.multipart = new FilesystemMultipart({
      basePath,
      tempPath: () => this.tempPath(),
      requireBucket: (bucket) => this.requireBucket(bucket),
      putAssembled: (input, assembled) => this.putObject(input, assembled),
    });
  }

  static async open(options: FilesystemBackendOptions): Promise<FilesystemBackend> {
    const backend = new FilesystemBackend(options.basePath);
    await ensureDirectory(options.basePath);
    await backend.takeLock();
    await rm(backend.tmp, { recursive: true, force: true });
    await mkdir(backend.tmp);
    await fsyncDirectory(options.basePath);
    return backend;
  }

  private async takeLock(): Promise<void> {
    const lockPath = join(this.base, LOCK_FILE);
    try {
      const owner = Number((await readFile(lockPath, 'utf8')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner))
        throw new Error(`filesystem backend: ${this.base} is in use by process ${owner}`);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    await writeFile(lockPath, `${process.pid}\n`);
  }

  async ready(): Promise<void> {
    if (this.closed) throw new Error('filesystem backend is closed');
    await access(this.tmp, fsConstants.W_OK);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dirSyncer.close();
    await unlink(join(this.base, LOCK_FILE)).catch(() => undefined);
  }

  private tempPath(): string {
    return join(this.tmp, randomBytes(12).toString('hex'));
  }

  private bucketDir(bucket: string): string {
    return join(this.base, bucket);
  }

  private objectPaths(
    bucket: string,
    key: string,
  ): { dir: string; meta: string; data: (v: string) => string } {
    const hash = hashKey(key);
    const dir = join(this.base, bucket, OBJECTS_DIR, hash.slice(0, 2));
    return { dir, meta: join(dir, `${hash}.json`), data: (version) => join(dir, `${hash}.${version}`) };
  }

  // ---- buckets -------------------------------------------------------------------------------

  private loadBucket(name: string): Promise<LoadedBucket | undefined> {
    let loading = this.buckets.get(name);
    if (loading === undefined) {
      loading = this.readBucket(name);
      this.buckets.set(name, loading);
      loading.catch(() => this.buckets.delete(name));
      // Missing buckets are not remembered (unauthenticated CORS preflights may name any bucket).
      const pending = loading;
      void pending.then(
        (found) => {
          if (found === undefined && this.buckets.get(name) === pending) this.buckets.delete(name);
        },
        () => undefined,
      );
    }
    return loading;
  }

  private async requireBucket(name: string): Promise<LoadedBucket> {
    const loaded = await this.loadBucket(name);
    if (loaded === undefined) throw NoSuchBucket(name);
    return loaded;
  }

  private indexOf(name: string, bucket: LoadedBucket): Promise<KeyIndex> {
    if (bucket.index === undefined) {
      const scanning = this.scanObjects(name);
      bucket.index = scanning;
      scanning.catch(() => {
        if (bucket.index === scanning) bucket.index = undefined;
      });
    }
    return bucket.index;
  }

  private async requireIndex(name: string): Promise<KeyIndex> {
    return this.indexOf(name, await this.requireBucket(name));
  }

  private async readBucket(name: string): Promise<LoadedBucket | undefined> {
    if (name.startsWith('.') || name.includes('/') || name.includes('\\') || name === '') return undefined;
    let stored: StoredBucket;
    try {
      stored = JSON.parse(await readFile(join(this.bucketDir(name), BUCKET_FILE), 'utf8')) as StoredBucket;
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
    const info: BucketInfo = {
      name: stored.name,
      owner: stored.owner,
      created: new Date(stored.created),
      region: stored.region,
      ...settingsOf(stored),
    };
    return { info };
  }

  /** Builds the key index from the metadata files and removes orphaned version files. */
  private async scanObjects(bucket: string): Promise<KeyIndex> {
    const index = new KeyIndex();
    const objectsDir = join(this.bucketDir(bucket), OBJECTS_DIR);
    let shards: string[];
    try {
      shards = await readdir(objectsDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return index;
      throw error;
    }
    for (const shard of shards) {
      const dir = join(objectsDir, shard);
      const names = await readdir(dir);
      const live = new Set<string>();
      for (const name of names) {
        if (!name.endsWith('.json')) continue;
        const stored = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredObject;
        index.set(toInfo(stored));
        live.add(`${name.slice(0, -'.json'.length)}.${stored.versionId}`);
      }
      for (const name of names)
        if (!name.endsWith('.json') && !live.has(name)) await unlink(join(dir, name)).catch(() => undefined);
    }
    return index;
  }

  async createBucket(name: string, owner: string, region: string): Promise<BucketInfo> {
    return this.bucketLocks.run(name, async () => {
      const existing = await this.loadBucket(name);
      if (existing !== undefined) {
        throw existing.info.owner === owner ? BucketAlreadyOwnedByYou(name) : BucketAlreadyExists(name);
      }
      const info: BucketInfo = { name, owner, created: new Date(), region };
      const staging = this.tempPath();
      // All 256 hash directories exist from the start, so PUTs never create (and fsync) directories.
      await mkdir(join(staging, OBJECTS_DIR), { recursive: true });
      for (let i = 0; i < 256; i++) await mkdir(join(staging, OBJECTS_DIR, i.toString(16).padStart(2, '0')));
      const record: StoredBucket = { name, owner, created: info.created.toISOString(), region };
      await writeFileAtomic(join(staging, 'bucket.tmp'), join(staging, BUCKET_FILE), JSON.stringify(record));
      await fsyncDirectory(join(staging, OBJECTS_DIR));
      try {
        await rename(staging, this.bucketDir(name));
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST') || isErrno(error, 'ENOTDIR'))
          throw BucketAlreadyExists(name);
        throw error;
      }
      await fsyncDirectory(this.base);
      this.buckets.set(name, Promise.resolve({ info, index: Promise.resolve(new KeyIndex()) }));
      return info;
    });
  }

  async headBucket(name: string): Promise<BucketInfo> {
    return (await this.requireBucket(name)).info;
  }

  async deleteBucket(name: string): Promise<void> {
    await this.bucketLocks.run(name, async () => {
      const bucket = await this.requireBucket(name);
      if ((await this.indexOf(name, bucket)).size > 0) throw BucketNotEmpty(name);
      if (await this.multipart.hasUploads(name)) throw BucketNotEmpty(name);
      const graveyard = this.tempPath();
      await this.dirSyncer.forget(this.bucketDir(name));
      await rename(this.bucketDir(name), graveyard);
      await fsyncDirectory(this.base);
      this.buckets.delete(name);
      await rm(graveyard, { recursive: true, force: true });
    });
  }

  async listBuckets(owner?: string): Promise<BucketInfo[]> {
    const names = (await readdir(this.base, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
    const result: BucketInfo[] = [];
    for (const name of names) {
      const loaded = await this.loadBucket(name);
      if (loaded !== undefined && (owner === undefined || loaded.info.owner === owner))
        result.push(loaded.info);
    }
    return result;
  }

  async updateBucketSettings(
    name: string,
    change: (current: BucketSettings) => BucketSettings,
  ): Promise<BucketInfo> {
    return this.bucketLocks.run(name, async () => {
      const loaded = await this.requireBucket(name);
      const { info: current } = loaded;
      const info: BucketInfo = {
        name: current.name,
        owner: current.owner,
        created: current.created,
        region: current.region,
        ...settingsOf(change(settingsOf(current))),
      };
      const record: StoredBucket = { ...info, created: info.created.toISOString() };
      await writeFileAtomic(this.tempPath(), join(this.bucketDir(name), BUCKET_FILE), JSON.stringify(record));
      loaded.info = info;
      return info;
    });
  }

  // ---- objects -------------------------------------------------------------------------------

  /** `assembled`: a completed multipart upload (its ETag and part sizes are recorded instead of the MD5). */
  async putObject(
    input: PutObjectInput,
    assembled?: { etag: string; partSizes: number[] },
  ): Promise<PutResult> {
    const { bucket, key } = input;
    // The key index must be loaded before the new version file appears: loading it removes version
    // files no metadata points to, which a first PUT after a restart would otherwise lose.
    const startedIn = await this.requireBucket(bucket);
    await this.indexOf(bucket, startedIn);
    const versionId = randomBytes(16).toString('hex');
    const dataTemp = this.tempPath();
    const metaTemp = this.tempPath();
    const paths = this.objectPaths(bucket, key);
    let committed = false;
    try {
      const md5 = createHash('md5');
      let size = 0;
      const data = await open(dataTemp, 'wx', 0o644);
      try {
        for await (const chunk of input.body) {
          md5.update(chunk);
          size += chunk.length;
          if (input.expectedSize !== undefined && size > input.expectedSize)
            throw new S3Error('IncompleteBody', 'The request body is longer than its declared length', 400);
          await writeAll(data, chunk);
        }
        if (input.expectedSize !== undefined && size !== input.expectedSize) throw IncompleteBody();
        const digest = md5.digest();
        if (input.expectedMd5 !== undefined && !digest.equals(input.expectedMd5)) throw BadDigest();
        if (input.beforeCommit !== undefined) await input.beforeCommit();

        const info: ObjectInfo & { versionId: string } = {
          key,
          versionId,
          size,
          etag: `"${assembled?.etag ?? digest.toString('hex')}"`,
          lastModified: new Date(),
          ...input.metadata,
          ...(assembled === undefined ? {} : { partSizes: assembled.partSizes }),
        };
        withTagsAndChecksum(info, input.tags, input.checksum?.());
        // Data and metadata reach the disk in one round of (parallel) fsyncs.
        const meta = await open(metaTemp, 'wx', 0o644);
        try {
          await meta.writeFile(JSON.stringify(toStored(info)));
          await Promise.all([data.sync(), meta.sync()]);
        } finally {
          await meta.close();
        }
        await data.close().catch(() => undefined);
        // The data file's name must be durable before the metadata pointing at it replaces the old one.
        await rename(dataTemp, paths.data(versionId));
        await this.dirSyncer.sync(paths.dir);
        const replaced = await this.keyLocks.run(`${bucket}\0${key}`, () =>
          this.bucketLocks.run(bucket, async () => {
            const live = await this.requireBucket(bucket);
            // Deleted (and maybe created again) while the body arrived: not the bucket that was checked.
            if (live.info.created.getTime() !== startedIn.info.created.getTime()) throw NoSuchBucket(bucket);
            await rename(metaTemp, paths.meta);
            committed = true;
            return (await this.indexOf(bucket, live)).set(info);
          }),
        );
        await this.dirSyncer.sync(paths.dir);
        if (replaced?.versionId !== undefined)
          await unlink(paths.data(replaced.versionId)).catch(() => undefined);
        return { etag: info.etag, versionId, size, lastModified: info.lastModified };
      } finally {
        await data.close().catch(() => undefined);
      }
    } catch (error) {
      await unlink(dataTemp).catch(() => undefined);
      await unlink(metaTemp).catch(() => undefined);
      if (!committed) await unlink(paths.data(versionId)).catch(() => undefined);
      // The bucket's directory went away under the PUT (DeleteBucket won the race). Asked under the
      // bucket lock: DeleteBucket forgets the bucket only after its directory is gone.
      if (isErrno(error, 'ENOENT')) {
        const now = await this.bucketLocks.run(bucket, () => this.loadBucket(bucket));
        if (now === undefined || now.info.created.getTime() !== startedIn.info.created.getTime())
          throw NoSuchBucket(bucket);
      }
      throw error;
    }
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    const index = await this.requireIndex(bucket);
    const info = index.get(key);
    if (info === undefined) throw NoSuchKey(key);
    return info;
  }

  async getObject(
    bucket: string,
    key: string,
    options: { check?: (info: ObjectInfo) => void; range?: RangeResolver } = {},
  ): Promise<GetObjectResult> {
    // A concurrent overwrite may unlink the version we looked up before we open it: look again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const info = await this.headObject(bucket, key);
      options.check?.(info);
      const range = options.range?.(info);
      let handle: FileHandle;
      try {
        handle = await open(this.objectPaths(bucket, key).data(info.versionId as string), 'r');
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      const start = range?.start ?? 0;
      const end = range === undefined ? info.size : range.end + 1;
      const result: GetObjectResult = { info, body: readRange(handle, start, end) };
      if (range !== undefined) result.range = range;
      return result;
    }
    throw InternalError(new Error(`object ${key} kept changing while being opened`));
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.requireBucket(bucket);
    const paths = this.objectPaths(bucket, key);
    const removed = await this.keyLocks.run(`${bucket}\0${key}`, () =>
      this.bucketLocks.run(bucket, async () => {
        const index = await this.requireIndex(bucket);
        if (index.get(key) === undefined) return undefined;
        await unlink(paths.meta);
        return index.delete(key);
      }),
    );
    if (removed === undefined) return;
    await this.dirSyncer.sync(paths.dir);
    if (removed.versionId !== undefined) await unlink(paths.data(removed.versionId)).catch(() => undefined);
  }

  async setObjectTags(bucket: string, key: string, tags: ObjectTag[]): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    const paths = this.objectPaths(bucket, key);
    // The key lock keeps PUT and DELETE commits of this key out until the new metadata is in place.
    return this.keyLocks.run(`${bucket}\0${key}`, async () => {
      const current = (await this.requireIndex(bucket)).get(key);
      if (current === undefined) throw NoSuchKey(key);
      const updated = withTagsAndChecksum({ ...current }, tags, current.checksum);
      const temp = this.tempPath();
      try {
        const handle = await open(temp, 'wx', 0o644);
        try {
          await handle.writeFile(JSON.stringify(toStored(updated as ObjectInfo & { versionId: string })));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await this.bucketLocks.run(bucket, async () => {
          const live = await this.requireBucket(bucket);
          await rename(temp, paths.meta);
          (await this.indexOf(bucket, live)).set(updated);
        });
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      await this.dirSyncer.sync(paths.dir);
      return updated;
    });
  }

  async listObjects(input: ListObjectsInput): Promise<ListObjectsResult> {
    const index = await this.requireIndex(input.bucket);
    return index.list(input.prefix, input.delimiter, input.after, input.maxKeys);
  }
}

function settingsOf(source: BucketSettings): BucketSettings {
  const settings: BucketSettings = {};
  if (source.cors !== undefined) settings.cors = source.cors;
  if (source.versioning !== undefined) settings.versioning = source.versioning;
  return settings;
}

/** Sets (or clears, when empty/undefined) the tags and checksum of an object's metadata. */
function withTagsAndChecksum<T extends ObjectInfo>(
  info: T,
  tags: ObjectTag[] | undefined,
  checksum: ObjectInfo['checksum'],
): T {
  if (tags !== undefined && tags.length > 0) info.tags = tags;
  else delete info.tags;
  if (checksum !== undefined) info.checksum = checksum;
  else delete info.checksum;
  return info;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Streams bytes [start, end) of an open file. The handle is closed at the end, on error, and when
 * the consumer stops early — also if it stops before the first read (a plain generator would leak
 * the handle then, because return() on an unstarted generator skips its finally block).
 */
function readRange(handle: FileHandle, start: number, end: number): AsyncIterable<Buffer> {
  let position = start;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const iterator: AsyncIterator<Buffer> = {
    async next() {
      if (closed) return { done: true, value: undefined };
      if (position >= end) {
        await close();
        return { done: true, value: undefined };
      }
      const length = Math.min(READ_CHUNK, end - position);
      const buffer = Buffer.allocUnsafe(length);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, length, position));
      } catch (error) {
        await close();
        throw error;
      }
      if (bytesRead === 0) {
        await close();
        throw InternalError(new Error('object data file is shorter than its metadata says'));
      }
      position += bytesRead;
      return { done: false, value: bytesRead === length ? buffer : buffer.subarray(0, bytesRead) };
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
