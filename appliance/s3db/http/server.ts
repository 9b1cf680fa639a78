import { createHash } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isS3AuthError, payloadModeOf, verifyHeaderAuth } from '../../../shared/sigv4/index.ts';
import type { Command, CommandResult, SessionTag } from '../command.ts';
import type { RaftDriver } from '../driver.ts';
import { S3dbError, httpStatusOf } from '../errors.ts';
import type { Fsm } from '../fsm.ts';
import { toHex } from '../keys.ts';
import type { MemberDirectory } from '../members.ts';
import { Http1Pool, Http1RequestError } from '../../../shared/http1/connection-pool.ts';
import { BATCH_CONTENT_TYPE } from '../../../shared/s3db-client/batch-body.ts';
import { parseBatchBody, parseBinaryBatchBody, parseJoinBody, parseRemoveBody } from './bodies.ts';
import type { JoinRequest } from './bodies.ts';
import { WRITE_OPS, parseRoute, parseSessionTag } from './routes.ts';
import type { ApiRoute } from './routes.ts';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
const VERIFY_OPTIONS = { service: 's3db' } as const;
export const LEADER_HEADER = 'x-s3db-leader';
export const FORWARDED_HEADER = 'x-s3db-forwarded';
/** Connection-level fields not relayed with a forwarded write (the body goes whole; requestHead sets its length). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade']);

export interface ApiServerOptions {
  bindHost: string;
  port: number;
  tls: { certPem: string; keyPem: string; caPem: string };
  credentials: { accessKeyId: string; secretAccessKey: string };
  driver: RaftDriver;
  fsm: Fsm;
  members: MemberDirectory;
  nodeId: number;
  /** Adds a member (leader only): records its addresses and proposes the configuration change. */
  join: (req: JoinRequest) => Promise<void>;
  /**
   * Removes a voter through the log (leader only; a leader asked to remove itself hands leadership over first
   * and throws NotLeader, so the request is forwarded to the new leader). Resolves false if it was no voter.
   */
  remove: (id: number) => Promise<boolean>;
  maxBodyBytes?: number;
}

/** A finished API request, for metrics and request-id logs (appliance/daemon/observability registers). */
export interface ApiRequestRecord {
  nodeId: number;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  /** The caller's `x-predastore-request-id` header (the gateway's S3 request id), when sent. */
  requestId?: string;
}
export const apiRequestObservers = new Set<(record: ApiRequestRecord) => void>();

function observeRequest(nodeId: number, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  res.once('close', () => {
    const id = req.headers['x-predastore-request-id'];
    const record: ApiRequestRecord = {
      nodeId,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      status: res.headersSent ? res.statusCode : 0,
      durationMs: performance.now() - started,
      ...(typeof id === 'string' ? { requestId: id } : {}),
    };
    for (const observer of apiRequestObservers) observer(record);
  });
}

class Reply {
  constructor(
    readonly status: number,
    readonly body: Uint8Array | string,
    readonly headers: Record<string, string> = { 'content-type': 'application/json' },
  ) {}
}

const json = (status: number, value: unknown): Reply => new Reply(status, JSON.stringify(value));

function errorReply(err: unknown): Reply {
  if (err instanceof S3dbError)
    return json(httpStatusOf[err.code], { error: { code: err.code, message: err.message } });
  if (isS3AuthError(err)) return json(err.status, { error: { code: err.code, message: err.message } });
  return json(500, {
    error: { code: 'Internal', message: err instanceof Error ? err.message : String(err) },
  });
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(new S3dbError('BodyTooLarge', `body of ${declared} bytes exceeds the ${max}-byte limit`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new S3dbError('BodyTooLarge', `body exceeds the ${max}-byte limit`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The s3db REST API (spec §5) over HTTPS with SigV4 (service `s3db`), plus /v1/batch. */
export class ApiServer {
  private readonly server: https.Server;
  private readonly forwarding: Http1Pool;
  private readonly secretOf = (id: string): string | undefined =>
    id === this.opts.credentials.accessKeyId ? this.opts.credentials.secretAccessKey : undefined;

  constructor(private readonly opts: ApiServerOptions) {
    this.forwarding = new Http1Pool({ caPem: opts.tls.caPem, maxSockets: 512 });
    this.server = https.createServer(
      { cert: opts.tls.certPem, key: opts.tls.keyPem, keepAliveTimeout: 60_000 },
      (req, res) => {
        if (apiRequestObservers.size > 0) observeRequest(opts.nodeId, req, res);
        this.handle(req, res).catch((err) => this.send(res, errorReply(err)));
      },
    );
    this.server.on('tlsClientError', () => {});
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.bindHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  async close(): Promise<void> {
    this.forwarding.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, reply: Reply): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const leader = this.opts.members.httpAddress(this.opts.driver.leaderId);
    const headers: Record<string, string> = { ...reply.headers };
    if (leader) headers[LEADER_HEADER] = leader;
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    let route: ApiRoute;
    let body: Buffer;
    let session: SessionTag | undefined;
    try {
      route = parseRoute(method, rawPath, rawQuery);
      body = await readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
      if (route.op !== 'health') this.authenticate(req, method, rawPath, rawQuery, body);
      session = parseSessionTag(req.headers);
    } catch (err) {
      this.send(res, errorReply(err));
      return;
    }
    const driver = this.opts.driver;
    if (WRITE_OPS.has(route.op) && driver.role !== 'leader') {
      this.send(res, await this.forward(req, body));
      return;
    }
    try {
      const binary = req.headers['content-type'] === BATCH_CONTENT_TYPE;
      this.send(res, await this.execute(route, body, session, binary));
    } catch (err) {
      if (err instanceof S3dbError && err.code === 'NotLeader' && WRITE_OPS.has(route.op)) {
        this.send(res, await this.forward(req, body));
        return;
      }
      this.send(res, errorReply(err));
    }
  }

  private authenticate(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    rawQuery: string,
    body: Buffer,
  ): void {
    const verified = verifyHeaderAuth(
      { method, rawPath, query: rawQuery, headers: req.headers },
      this.secretOf,
      VERIFY_OPTIONS,
    );
    const mode = payloadModeOf(verified.payloadHash);
    if (mode === 'sha256') {
      if (createHash('sha256').update(body).digest('hex') !== verified.payloadHash.toLowerCase()) {
        throw new S3dbError('SignatureDoesNotMatch', 'x-amz-content-sha256 does not match the body');
      }
    } else if (mode !== 'unsigned') {
      throw new S3dbError('InvalidRequest', 'streaming payloads are not supported by s3db');
    }
  }

  /** Sends a write to the leader's HTTP address with the client's own signed headers; relays the answer. */
  private async forward(req: IncomingMessage, body: Buffer): Promise<Reply> {
    const leaderId = this.opts.driver.leaderId;
    if (req.headers[FORWARDED_HEADER] !== undefined) {
      return json(421, {
        error: { code: 'NotLeader', message: `node ${this.opts.nodeId} is not the leader` },
      });
    }
    const leaderAddress = this.opts.members.httpAddress(leaderId);
    if (leaderId === 0 || leaderId === this.opts.nodeId || !leaderAddress) {
      return json(503, { error: { code: 'NoLeader', message: 'no leader is known right now; retry' } });
    }
    const headers: Record<string, string> = { [FORWARDED_HEADER]: String(this.opts.nodeId) };
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    try {
      const res = await this.forwarding.request({
        server: leaderAddress,
        method: req.method ?? 'POST',
        target: req.url ?? '/',
        headers,
        body,
        timeoutMs: 15_000,
      });
      const relayed: Record<string, string> = {};
      const ct = res.headers['content-type'];
      if (ct) relayed['content-type'] = ct;
      const version = res.headers['x-s3db-version'];
      if (version !== undefined) relayed['x-s3db-version'] = version;
      return new Reply(res.status, res.body, relayed);
    } catch (e) {
      if (!(e instanceof Http1RequestError)) throw e;
      // Refused before anything was sent: certainly not applied. After that the outcome is unknown.
      const message = `forwarding to leader ${leaderId} failed: ${e.message}`;
      return e.sent
        ? json(504, { error: { code: 'Timeout', message: `${message}; the outcome is unknown` } })
        : json(503, { error: { code: 'NoLeader', message } });
    }
  }

  private async execute(
    route: ApiRoute,
    body: Buffer,
    session: SessionTag | undefined,
    binaryBody = false,
  ): Promise<Reply> {
    const { driver, fsm } = this.opts;
    switch (route.op) {
      case 'health':
        return json(200, { status: 'ok', id: this.opts.nodeId });
      case 'status': {
        const st = driver.status();
        return json(200, {
          ...st,
          members: this.opts.members.all(),
          leaderHttp: this.opts.members.httpAddress(st.leaderId) ?? null,
        });
      }
      case 'leader': {
        const id = driver.leaderId;
        const m = this.opts.members.get(id);
        if (!id || !m)
          return json(503, { error: { code: 'NoLeader', message: 'no leader is known right now' } });
        return json(200, {
          id,
          http: `${m.advertiseHost}:${m.port}`,
          raft: `${m.advertiseHost}:${m.raftPort}`,
        });
      }
      case 'put': {
        const r = await driver.propose(
          withSession(
            { type: 'put', table: route.table, key: route.key, value: new Uint8Array(body) },
            session,
          ),
        );
        return json(200, resultBody(r));
      }
      case 'delete': {
        const r = await driver.propose(
          withSession({ type: 'delete', table: route.table, key: route.key }, session),
        );
        return json(200, resultBody(r));
      }
      case 'batch': {
        const cmd = binaryBody ? parseBinaryBatchBody(body) : parseBatchBody(body);
        const r = await driver.propose(withSession(cmd, session));
        return json(r.type === 'batch' && !r.ok ? 409 : 200, resultBody(r));
      }
      case 'join':
        await this.opts.join(parseJoinBody(body));
        return json(200, { joined: true, members: this.opts.members.all() });
      case 'remove': {
        const { id } = parseRemoveBody(body);
        const removed = await this.opts.remove(id);
        return json(200, { removed, voters: driver.status().voters });
      }
      case 'get': {
        if (!route.stale) await driver.linearizableBarrier();
        const v = await fsm.get(route.table, route.key);
        if (!v) return json(404, { error: { code: 'NotFound', message: 'no such key' } });
        return new Reply(200, v.value, {
          'content-type': 'application/octet-stream',
          'x-s3db-version': String(v.version),
        });
      }
      case 'scan': {
        if (!route.stale) await driver.linearizableBarrier();
        const req: Parameters<Fsm['scan']>[0] = { table: route.table };
        if (route.prefix) req.prefix = route.prefix;
        if (route.startAfter) req.startAfter = route.startAfter;
        if (route.limit !== undefined) req.limit = route.limit;
        const r = await fsm.scan(req);
        const last = r.items[r.items.length - 1];
        return json(200, {
          items: r.items.map((it) => ({
            key: toHex(it.key),
            value: Buffer.from(it.value).toString('base64'),
            version: it.version,
          })),
          truncated: r.truncated,
          nextStartAfter: r.truncated && last ? toHex(last.key) : null,
        });
      }
    }
  }
}

function withSession(cmd: Command, session: SessionTag | undefined): Command {
  if (session) cmd.session = session;
  return cmd;
}

function resultBody(r: CommandResult): unknown {
  switch (r.type) {
    case 'stale':
      // Only an old retry that a newer request of the same session overtook gets here; it was not applied.
      throw new S3dbError(
        'StaleRequest',
        `the session already applied sequence ${r.lastSeq}; this older request was not applied`,
      );
    case 'put':
      return { version: r.version };
    case 'delete':
      return { deleted: r.deleted };
    case 'batch':
      return r.ok
        ? { ok: true, version: r.version }
        : { ok: false, failed: r.failed, reason: r.reason, code: 'PreconditionFailed' };
  }
}
