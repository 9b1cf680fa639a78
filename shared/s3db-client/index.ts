import { createHash, randomBytes } from 'node:crypto';
import { REQUEST_ID_HEADER, currentRequestId } from '../logging/request-context.ts';
import { signRequest } from '../sigv4/index.ts';
import { Http1Pool, Http1RequestError } from '../http1/connection-pool.ts';
import { S3dbClientError } from './errors.ts';
import { BATCH_CONTENT_TYPE, encodeBatchBody } from './batch-body.ts';

export { S3dbClientError } from './errors.ts';
export type { S3dbClientErrorCode } from './errors.ts';

export type KeyInput = Uint8Array | string;

export interface S3dbClientOptions {
  /** API addresses "host:port" of the members (any subset; the leader is discovered). */
  nodes: string[];
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  /** Cluster CA to verify the servers' certificates; without it certificates are not verified (spec §13). */
  caPem?: string;
  /** Per-attempt timeout. Default 10 s. */
  attemptTimeoutMs?: number;
  /** Total time an operation keeps retrying through leader changes. Default 15 s. */
  retryForMs?: number;
  /**
   * Retry writes whose outcome is unknown (connection lost after sending, timeout, leader change). Default true:
   * every write carries a session tag (see SESSION_HEADER), so the server applies a retried write once and
   * answers the retry with the first result.
   */
  retryAmbiguousWrites?: boolean;
  maxSockets?: number;
}

export interface ValueWithVersion {
  value: Uint8Array;
  version: number;
}

export interface ScanOptions {
  prefix?: KeyInput;
  startAfter?: KeyInput;
  limit?: number;
  /** Read the contacted node's local state without a ReadIndex round (may be stale). */
  stale?: boolean;
}

export interface ScanPage {
  items: { key: Uint8Array; value: Uint8Array; version: number }[];
  truncated: boolean;
  /** Pass as `startAfter` to get the next page. */
  nextStartAfter?: Uint8Array;
}

export type Precondition =
  | { kind: 'absent'; table: string; key: KeyInput }
  | { kind: 'exists'; table: string; key: KeyInput }
  | { kind: 'valueEquals'; table: string; key: KeyInput; value: Uint8Array }
  /** 0 means "absent"; otherwise the `version` a read returned. */
  | { kind: 'versionEquals'; table: string; key: KeyInput; version: number };

export type BatchOp =
  | { kind: 'put'; table: string; key: KeyInput; value: Uint8Array }
  | { kind: 'delete'; table: string; key: KeyInput };

export type BatchResult = { ok: true; version: number } | { ok: false; failed: number; reason: string };

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const keyBytes = (k: KeyInput): Buffer =>
  typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k.buffer, k.byteOffset, k.byteLength);
const hexKey = (k: KeyInput): string => keyBytes(k).toString('hex');
const EMPTY = Buffer.alloc(0);
/** Backoff between attempts grows from 25 ms to this, so a new leader is found soon after an election. */
const MAX_BACKOFF_MS = 200;
/** Headers of the session tag of a write: session id (hex) and the request's sequence number in it. */
export const SESSION_HEADER = 'x-s3db-session';
export const SEQUENCE_HEADER = 'x-s3db-seq';
/** Idle sessions kept for reuse (one is held per write in flight). */
const MAX_IDLE_SESSIONS = 1024;

interface Session {
  id: string;
  seq: number;
}

class AttemptError extends Error {
  constructor(
    readonly error: S3dbClientError,
    /** The request certainly was not applied (retry is safe for any operation). */
    readonly safe: boolean,
    readonly leaderHint?: string,
  ) {
    super(error.message);
  }
}

/**
 * Client of the s3db REST API: SigV4 (service `s3db`), keep-alive HTTPS, leader discovery through the
 * `x-s3db-leader` header and /v1/leader, retries with exponential backoff across leader changes.
 */
export class S3dbClient {
  private readonly connections: Http1Pool;
  private readonly nodes: string[];
  private preferred: string;
  private rotation = 0;
  private readonly idleSessions: Session[] = [];

  constructor(private readonly opts: S3dbClientOptions) {
    if (opts.nodes.length === 0)
      throw new S3dbClientError('InvalidRequest', 'S3dbClient needs at least one node address');
    this.nodes = [...opts.nodes];
    this.preferred = this.nodes[0]!;
    this.connections = new Http1Pool({
      ...(opts.caPem === undefined ? {} : { caPem: opts.caPem }),
      maxSockets: opts.maxSockets ?? 256,
    });
  }

  close(): void {
    this.connections.close();
  }

  /** The node the client currently sends to (the last known leader). */
  get currentNode(): string {
    return this.preferred;
  }

  async get(
    table: string,
    key: KeyInput,
    opts: { stale?: boolean } = {},
  ): Promise<ValueWithVersion | undefined> {
    const path = `/v1/get/${encodeURIComponent(table)}/${hexKey(key)}`;
    const a = await this.call('GET', path, opts.stale ? 'stale=true' : '', EMPTY, 'read', [200, 404]);
    if (a.status === 404) {
      const code = parseError(a.body).code;
      if (code === 'NotFound') return undefined;
      throw new S3dbClientError(code, parseError(a.body).message, 404);
    }
    return { value: new Uint8Array(a.body), version: Number(a.headers['x-s3db-version'] ?? 0) };
  }

  async put(table: string, key: KeyInput, value: Uint8Array): Promise<{ version: number }> {
    const path = `/v1/put/${encodeURIComponent(table)}/${hexKey(key)}`;
    const a = await this.call(
      'POST',
      path,
      '',
      Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      'write',
      [200],
    );
    return JSON.parse(a.body.toString()) as { version: number };
  }

  async delete(table: string, key: KeyInput): Promise<{ deleted: boolean }> {
    const path = `/v1/delete/${encodeURIComponent(table)}/${hexKey(key)}`;
    const a = await this.call('DELETE', path, '', EMPTY, 'write', [200]);
    return JSON.parse(a.body.toString()) as { deleted: boolean };
  }

  /** Atomic batch: every precondition holds and every op is applied, or nothing is (ok: false). */
  async batch(preconditions: Precondition[], ops: BatchOp[]): Promise<BatchResult> {
    // Binary body: no JSON, hex or base64 on either side (see batch-body.ts).
    const encoded = encodeBatchBody({
      preconditions: preconditions.map((p) => ({ ...p, key: keyBytes(p.key) })),
      ops: ops.map((o) => ({ ...o, key: keyBytes(o.key) })),
    });
    const body = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    const a = await this.call('POST', '/v1/batch', '', body, 'write', [200, 409], BATCH_CONTENT_TYPE);
    const r = JSON.parse(a.body.toString()) as {
      ok: boolean;
      version?: number;
      failed?: number;
      reason?: string;
    };
    return r.ok
      ? { ok: true, version: r.version ?? 0 }
      : { ok: false, failed: r.failed ?? 0, reason: r.reason ?? '' };
  }

  async scan(table: string, opts: ScanOptions = {}): Promise<ScanPage> {
    const q = new URLSearchParams();
    if (opts.prefix !== undefined) q.set('prefix', hexKey(opts.prefix));
    if (opts.startAfter !== undefined) q.set('start_after', hexKey(opts.startAfter));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.stale) q.set('stale', 'true');
    const a = await this.call(
      'GET',
      `/v1/scan/${encodeURIComponent(table)}`,
      q.toString(),
      EMPTY,
      'read',
      [200],
    );
    const r = JSON.parse(a.body.toString()) as {
      items: { key: string; value: string; version: number }[];
      truncated: boolean;
      nextStartAfter: string | null;
    };
    const page: ScanPage = {
      items: r.items.map((it) => ({
        key: new Uint8Array(Buffer.from(it.key, 'hex')),
        value: new Uint8Array(Buffer.from(it.value, 'base64')),
        version: it.version,
      })),
      truncated: r.truncated,
    };
    if (r.nextStartAfter) page.nextStartAfter = new Uint8Array(Buffer.from(r.nextStartAfter, 'hex'));
    return page;
  }

  /** Every item with the prefix, page by page. */
  async *scanAll(
    table: string,
    opts: Omit<ScanOptions, 'startAfter'> = {},
  ): AsyncGenerator<ScanPage['items'][number]> {
    let startAfter: Uint8Array | undefined;
    for (let pages = 0; pages < 1_000_000; pages++) {
      const page = await this.scan(table, startAfter ? { ...opts, startAfter } : opts);
      yield* page.items;
      if (!page.truncated || !page.nextStartAfter) return;
      startAfter = page.nextStartAfter;
    }
  }

  /**
   * Removes member `id` from the Raft configuration (through the log; the leader hands leadership over first
   * if it is the one removed). `removed` is false when it was not a voter. Stop the removed process afterwards.
   */
  async removeMember(id: number): Promise<{ removed: boolean; voters: number[] }> {
    const body = Buffer.from(JSON.stringify({ id }));
    const a = await this.call('POST', '/v1/remove', '', body, 'write', [200]);
    return JSON.parse(a.body.toString()) as { removed: boolean; voters: number[] };
  }

  async leader(): Promise<{ id: number; http: string; raft: string }> {
    const a = await this.call('GET', '/v1/leader', '', EMPTY, 'read', [200]);
    return JSON.parse(a.body.toString()) as { id: number; http: string; raft: string };
  }

  /** /status of one node (default: the current one). */
  async status(node?: string): Promise<Record<string, unknown>> {
    const a = await this.attempt(node ?? this.preferred, 'GET', '/status', '', EMPTY);
    if (a.status !== 200) throw answerError(a);
    return JSON.parse(a.body.toString()) as Record<string, unknown>;
  }

  /**
   * A write holds a session for all its attempts (one request in flight per session, retries with the same
   * sequence), so the server can tell a retry from a new request.
   */
  private async call(
    method: string,
    path: string,
    query: string,
    body: Buffer,
    kind: 'read' | 'write',
    okStatuses: number[],
    contentType?: string,
  ): Promise<HttpAnswer> {
    if (kind === 'read') return this.callWith(method, path, query, body, kind, okStatuses, undefined);
    const session = this.idleSessions.pop() ?? { id: randomBytes(16).toString('hex'), seq: 0 };
    session.seq++;
    const tag: Record<string, string> = {
      [SESSION_HEADER]: session.id,
      [SEQUENCE_HEADER]: String(session.seq),
    };
    if (contentType !== undefined) tag['content-type'] = contentType;
    try {
      return await this.callWith(method, path, query, body, kind, okStatuses, tag);
    } finally {
      if (this.idleSessions.length < MAX_IDLE_SESSIONS) this.idleSessions.push(session);
    }
  }

  private async callWith(
    method: string,
    path: string,
    query: string,
    body: Buffer,
    kind: 'read' | 'write',
    okStatuses: number[],
    tag: Record<string, string> | undefined,
  ): Promise<HttpAnswer> {
    const deadline = Date.now() + (this.opts.retryForMs ?? 15_000);
    let delay = 25;
    let last: S3dbClientError | undefined;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const node = this.preferred;
      try {
        const a = await this.attempt(node, method, path, query, body, tag);
        if (okStatuses.includes(a.status)) {
          this.learnLeader(a.headers, node, kind !== 'read');
          return a;
        }
        const err = answerError(a);
        const hint = typeof a.headers['x-s3db-leader'] === 'string' ? a.headers['x-s3db-leader'] : undefined;
        // 421 not leader / 503 no leader: the request was not applied; anything else is final.
        if (a.status !== 421 && a.status !== 503 && a.status !== 504) throw err;
        throw new AttemptError(err, a.status !== 504, hint);
      } catch (e) {
        if (!(e instanceof AttemptError)) throw e;
        last = e.error;
        const retryable = e.safe || kind === 'read' || (this.opts.retryAmbiguousWrites ?? true);
        if (!retryable || Date.now() + delay > deadline) throw e.error;
        if (e.leaderHint && e.leaderHint !== node) this.preferred = e.leaderHint;
        else this.rotate(node);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
    throw last ?? new S3dbClientError('Unavailable', 'no s3db node answered');
  }

  private learnLeader(headers: HttpAnswer['headers'], node: string, wasWrite: boolean): void {
    const hint = headers['x-s3db-leader'];
    if (typeof hint === 'string' && hint !== node && (wasWrite || this.nodes.includes(hint)))
      this.preferred = hint;
  }

  private rotate(failed: string): void {
    if (this.preferred !== failed) return;
    this.rotation = (this.rotation + 1) % this.nodes.length;
    let next = this.nodes[this.rotation]!;
    if (next === failed && this.nodes.length > 1) {
      this.rotation = (this.rotation + 1) % this.nodes.length;
      next = this.nodes[this.rotation]!;
    }
    this.preferred = next;
  }

  private async attempt(
    node: string,
    method: string,
    path: string,
    query: string,
    body: Buffer,
    extraHeaders?: Record<string, string>,
  ): Promise<HttpAnswer> {
    const signed = signRequest({
      method,
      path,
      query,
      headers: { host: node, ...extraHeaders },
      payloadHash: createHash('sha256').update(body).digest('hex'),
      credentials: this.opts.credentials,
      region: this.opts.region ?? 'us-east-1',
      service: 's3db',
    });
    // The S3 request this call serves (if any), for the s3db node's logs; not signed.
    const requestId = currentRequestId();
    const headers = { ...extraHeaders, ...signed.headers };
    if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
    try {
      return await this.connections.request({
        server: node,
        method,
        target: query ? `${path}?${query}` : path,
        headers,
        body,
        timeoutMs: this.opts.attemptTimeoutMs ?? 10_000,
      });
    } catch (e) {
      if (!(e instanceof Http1RequestError)) throw e;
      // A request that never reached the server is safe to retry; anything after sending is ambiguous for writes.
      const safe = !e.sent;
      const code = e.code === 'TIMEOUT' ? 'Timeout' : 'Unavailable';
      throw new AttemptError(new S3dbClientError(code, `${node}: ${e.message}`, 0, safe), safe);
    }
  }
}

function parseError(body: Buffer): { code: string; message: string } {
  try {
    const r = JSON.parse(body.toString()) as { error?: { code?: string; message?: string } };
    return { code: r.error?.code ?? 'Internal', message: r.error?.message ?? body.toString() };
  } catch {
    return { code: 'Internal', message: body.toString().slice(0, 200) };
  }
}

function answerError(a: HttpAnswer): S3dbClientError {
  const e = parseError(a.body);
  return new S3dbClientError(
    e.code,
    e.message,
    a.status,
    a.status === 421 || a.status === 503 || a.status < 500,
  );
}
