// Gateway-side client of the shard protocol: puts, fetches and the rest against many appliances, with
// per-request timeouts, cancellation through AbortSignal, and typed errors.
import { crc32c } from '../checksum/index.ts';
import { crc32cCombine } from '../protocol/crc32c-combine.ts';
import { FrameType, placeSegmentParts, type Frame } from '../protocol/frames.ts';
import { ProtocolError, Status } from '../protocol/errors.ts';
import {
  Op,
  PROTOCOL_VERSION,
  decodeEnd,
  decodeError,
  decodeResponse,
  encodeEnd,
  encodeRequest,
  type NodeStats,
  type RequestBody,
  type ResponseBody,
  type ShardInfo,
  type WireShardKey,
} from '../protocol/messages.ts';
import type { TlsIdentity } from '../tls/cluster-certs.ts';
import { FramedStream, type FramedStreamOptions } from '../transport/framed-stream.ts';
import { TransportError, type Transport } from '../transport/types.ts';
import { ConnectionPool, peerLabel, type ShardPeer } from './connection-pool.ts';
import {
  ShardCancelledError,
  ShardClientError,
  ShardConnectionLostError,
  ShardCorruptError,
  ShardProtocolError,
  ShardTimeoutError,
  ShardUnreachableError,
  errorForStatus,
} from './errors.ts';
import { abortable } from '../async/abortable.ts';
import { SegmentChannel } from './segment-channel.ts';

export interface ShardClientOptions {
  transport: Transport;
  /** This gateway's (or appliance's) certificate, key and the cluster CA. */
  tls: TlsIdentity;
  /** Per-request timeout when the call gives none. Default 30 s. */
  defaultTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Connections kept per appliance; requests are multiplexed over them. Default 1. */
  connectionsPerPeer?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Id of the request this call serves (e.g. the gateway's S3 request id), sent to the appliance, which
   * logs it: 1..64 printable ASCII characters without spaces (anything else is a BAD_REQUEST error).
   */
  requestId?: string;
}

export interface FetchRange {
  firstSegment?: number;
  /** Omit (or 0) for "through the last segment". */
  segmentCount?: number;
}

export interface FetchOptions extends RequestOptions {
  /**
   * Receive the fetched segments into this buffer (from offset 0, in order); the returned segments are then
   * subarrays of it. Used only when it can hold the whole range (`totalLength`); otherwise (and without
   * `into`) the shard is received into one fresh buffer of its own. The transport writes into it directly
   * as bytes arrive, so the caller must not touch it until the fetch settles; once it has settled (resolved
   * or rejected) nothing writes into it any more. Lets a caller reuse (pool) its receive memory.
   */
  into?: Buffer;
}

export interface FetchedShard {
  firstSegment: number;
  /** Verified logical bytes of each segment, in order: subarrays of one buffer (`into`, or a fresh one). */
  segments: Buffer[];
  totalLength: number;
}

export interface PutTarget {
  peer: ShardPeer;
  key: WireShardKey;
  meta: { rsData: number; rsParity: number };
  segments: Uint8Array[];
}

export interface FetchTarget {
  peer: ShardPeer;
  key: WireShardKey;
  range?: FetchRange;
}

/** A shard PUT whose segments are sent as they are produced (ShardClient.openPut). */
export interface ShardPutStream {
  /**
   * Sends the next segment; resolves once the transport has taken it (the caller may then reuse the
   * bytes). Calls must not overlap: await each before the next. Rejects once the PUT has failed.
   */
  write(segment: Uint8Array): Promise<void>;
  /** After the last segment: resolves once the appliance has the shard durably (fsynced). */
  finish(): Promise<void>;
  /** Gives up: the appliance stores nothing; finish() and pending writes reject. */
  abort(reason?: Error): void;
}

const TIMEOUT = Symbol('timeout');
/** Largest fetch received into one fresh buffer allocated from the response header (an appliance's shard limit). */
const MAX_FRESH_FETCH_BYTES = 64 << 20;

export class ShardClient {
  private readonly pool: ConnectionPool;
  private readonly defaultTimeoutMs: number;

  constructor(options: ShardClientOptions) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.pool = new ConnectionPool(
      options.transport,
      options.tls,
      options.connectionsPerPeer ?? 1,
      options.connectTimeoutMs ?? 5000,
    );
  }

  /** Writes one shard; resolves once the appliance has it durably (fsynced). */
  async putShard(
    peer: ShardPeer,
    key: WireShardKey,
    meta: { rsData: number; rsParity: number },
    segments: Uint8Array[],
    options: RequestOptions = {},
  ): Promise<void> {
    const totalBytes = segments.reduce((n, s) => n + s.byteLength, 0);
    const body: RequestBody = { op: Op.PUT_SHARD, key, ...meta, segmentCount: segments.length, totalBytes };
    await this.run(peer, 'PUT_SHARD', body, options, async (framed, label) => {
      const response = this.readResponse(framed, label);
      response.catch(() => undefined);
      let crc = 0;
      try {
        for (let i = 0; i < segments.length; i++) {
          const s = segments[i] as Uint8Array;
          const segCrc = crc32c(s);
          await framed.writeSegment(i, segCrc, s);
          // The whole-shard CRC from the segment's, without a second pass over the bytes.
          crc = crc32cCombine(crc, segCrc, s.byteLength);
        }
        await framed.write(encodeEnd({ segmentCount: segments.length, crc }));
        await framed.end();
      } catch {
        // The appliance may have answered early (disk full, bad request) and closed; its answer says why.
      }
      const result = await response;
      expectOp(result, Op.PUT_SHARD, label);
    });
  }

  /**
   * Opens a streamed shard PUT of exactly `shape.segmentCount` segments holding `shape.totalBytes`
   * bytes (announced up front, as the appliance reserves memory for them). Segments go out as they
   * are written, so the caller never holds a whole shard; `finish` waits for the durable answer.
   * The timeout covers the whole stream, including the time the caller takes to produce it.
   */
  openPut(
    peer: ShardPeer,
    key: WireShardKey,
    meta: { rsData: number; rsParity: number },
    shape: { segmentCount: number; totalBytes: number },
    options: RequestOptions = {},
  ): ShardPutStream {
    const channel = new SegmentChannel();
    const cancel = new AbortController();
    const onCancel = (): void => cancel.abort(options.signal?.reason);
    if (options.signal?.aborted) cancel.abort(options.signal.reason);
    else options.signal?.addEventListener('abort', onCancel, { once: true });
    const body: RequestBody = {
      op: Op.PUT_SHARD,
      key,
      ...meta,
      segmentCount: shape.segmentCount,
      totalBytes: shape.totalBytes,
    };
    const runOptions: RequestOptions = {
      signal: cancel.signal,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    };
    const done = this.run(peer, 'PUT_SHARD', body, runOptions, async (framed, label) => {
      const response = this.readResponse(framed, label);
      response.catch(() => undefined);
      let crc = 0;
      let sent = 0;
      let bytes = 0;
      let transportFailed = false;
      for (let item = await channel.take(); item !== null; item = await channel.take()) {
        const s = item.segment;
        if (sent >= shape.segmentCount || bytes + s.byteLength > shape.totalBytes) {
          const error = new ShardProtocolError(label, `more than the announced shard shape was written`);
          item.failed(error);
          throw error;
        }
        const segCrc = crc32c(s);
        try {
          await framed.writeSegment(sent, segCrc, s);
        } catch (error) {
          // The appliance may have answered early (disk full, bad request) and closed; its answer says why.
          item.failed(error as Error);
          transportFailed = true;
          break;
        }
        crc = crc32cCombine(crc, segCrc, s.byteLength);
        sent++;
        bytes += s.byteLength;
        item.written();
      }
      if (!transportFailed) {
        if (sent !== shape.segmentCount || bytes !== shape.totalBytes)
          throw new ShardProtocolError(
            label,
            `PUT finished after ${sent} of ${shape.segmentCount} segments (${bytes} of ${shape.totalBytes} bytes)`,
          );
        try {
          await framed.write(encodeEnd({ segmentCount: sent, crc }));
          await framed.end();
        } catch {
          // as above: the response tells
        }
      }
      const result = await response;
      expectOp(result, Op.PUT_SHARD, label);
    });
    done.then(
      () => {
        channel.fail(new Error('the shard PUT is over'));
        options.signal?.removeEventListener('abort', onCancel);
      },
      (error: unknown) => {
        channel.fail(error as Error);
        options.signal?.removeEventListener('abort', onCancel);
      },
    );
    return {
      write: (segment) => channel.push(segment),
      finish: () => {
        channel.close();
        return done;
      },
      abort: (reason) => {
        channel.fail(reason ?? new Error('shard PUT aborted'));
        cancel.abort(reason ?? new Error('shard PUT aborted'));
      },
    };
  }

  /** Reads segments [firstSegment, firstSegment + segmentCount) of a shard, each checked against its CRC32C. */
  async fetchShard(
    peer: ShardPeer,
    key: WireShardKey,
    range: FetchRange = {},
    options: FetchOptions = {},
  ): Promise<FetchedShard> {
    const firstSegment = range.firstSegment ?? 0;
    const body: RequestBody = {
      op: Op.FETCH_SHARD,
      key,
      firstSegment,
      segmentCount: range.segmentCount ?? 0,
    };
    // The shard is received into one buffer: the caller's `into` when it can hold the range, else a fresh
    // one of the announced length. It is chosen the moment the response header is parsed, so the transport
    // writes the segments that follow straight into it.
    let destination: Buffer | undefined;
    const chooseDestination = (frame: Frame, framed: FramedStream): void => {
      if (destination !== undefined || frame.type !== FrameType.RESPONSE) return;
      const response = decodeResponse(frame.payload);
      if (response.status !== Status.OK || response.body.op !== Op.FETCH_SHARD) return;
      const length = response.body.totalLength;
      if (options.into !== undefined && length <= options.into.byteLength) destination = options.into;
      else if (length <= MAX_FRESH_FETCH_BYTES) destination = Buffer.allocUnsafe(length);
      else return; // an implausible announcement allocates nothing up front; segments get buffers as they come
      framed.receiveSegmentsInto(destination);
    };
    return this.run(
      peer,
      'FETCH_SHARD',
      body,
      options,
      { onFrame: chooseDestination },
      async (framed, label) => {
        await framed.end();
        const header = expectOp(await this.readResponse(framed, label), Op.FETCH_SHARD, label);
        const into =
          destination !== undefined && header.totalLength <= destination.byteLength ? destination : undefined;
        const segments: Buffer[] = [];
        let crc = 0;
        let bytes = 0;
        for (;;) {
          const frame = await framed.nextFrame();
          if (frame === null) throw new ShardConnectionLostError(label, 'FETCH stream ended before END');
          if (frame.type === FrameType.SEGMENT) {
            const expected = header.firstSegment + segments.length;
            if (frame.index !== expected)
              throw new ShardProtocolError(label, `got segment ${frame.index}, expected ${expected}`);
            if (segments.length >= header.segmentCount)
              throw new ShardProtocolError(label, 'more segments than announced');
            let segCrc = 0;
            for (const part of frame.parts) segCrc = crc32c(part, segCrc);
            if (segCrc !== frame.crc) {
              throw new ShardCorruptError(
                label,
                `segment ${frame.index} failed CRC32C in transit`,
                frame.index,
              );
            }
            crc = crc32cCombine(crc, frame.crc, frame.length);
            if (into !== undefined && bytes + frame.length <= into.byteLength) {
              const segment = into.subarray(bytes, bytes + frame.length);
              placeSegmentParts(frame.parts, segment);
              segments.push(segment);
            } else {
              segments.push(
                frame.parts.length === 1
                  ? (frame.parts[0] as Buffer)
                  : Buffer.concat(frame.parts, frame.length),
              );
            }
            bytes += frame.length;
          } else if (frame.type === FrameType.END) {
            const end = decodeEnd(frame.payload);
            if (end.segmentCount !== segments.length || segments.length !== header.segmentCount) {
              throw new ShardProtocolError(
                label,
                `END after ${segments.length} of ${header.segmentCount} segments`,
              );
            }
            if (end.crc !== crc)
              throw new ShardCorruptError(label, 'CRC32C of the fetched bytes does not match');
            if (bytes !== header.totalLength) {
              throw new ShardProtocolError(label, `got ${bytes} bytes, announced ${header.totalLength}`);
            }
            framed.receiveSegmentsInto(undefined); // the buffer is the caller's from here on
            return { firstSegment: header.firstSegment, segments, totalLength: header.totalLength };
          } else if (frame.type === FrameType.ERROR) {
            const e = decodeError(frame.payload);
            throw errorForStatus(label, e.status, e.message);
          } else {
            throw new ShardProtocolError(label, `unexpected frame type ${frame.type} in a FETCH response`);
          }
        }
      },
    );
  }

  /** Deletes a shard; true if the appliance had it. */
  async deleteShard(peer: ShardPeer, key: WireShardKey, options: RequestOptions = {}): Promise<boolean> {
    const r = await this.simple(peer, 'DELETE_SHARD', { op: Op.DELETE_SHARD, key }, options);
    return expectOp(r, Op.DELETE_SHARD, peerLabel(peer)).existed;
  }

  /** Segment count, length and RS scheme of one shard. */
  async shardStat(peer: ShardPeer, key: WireShardKey, options: RequestOptions = {}): Promise<ShardInfo> {
    const r = await this.simple(peer, 'SHARD_STAT', { op: Op.SHARD_STAT, key }, options);
    return expectOp(r, Op.SHARD_STAT, peerLabel(peer)).info;
  }

  /** Health and disk use of an appliance. */
  async stat(peer: ShardPeer, options: RequestOptions = {}): Promise<NodeStats> {
    const r = await this.simple(peer, 'STAT', { op: Op.STAT }, options);
    return expectOp(r, Op.STAT, peerLabel(peer)).stats;
  }

  /** One page of the shards an appliance holds, in key order, after `after`. */
  async list(
    peer: ShardPeer,
    page: { after?: WireShardKey; limit?: number } = {},
    options: RequestOptions = {},
  ): Promise<{ entries: ShardInfo[]; nextAfter?: WireShardKey }> {
    const body: RequestBody = {
      op: Op.LIST,
      limit: page.limit ?? 1000,
      ...(page.after ? { after: page.after } : {}),
    };
    const r = expectOp(await this.simple(peer, 'LIST', body, options), Op.LIST, peerLabel(peer));
    return r.nextAfter ? { entries: r.entries, nextAfter: r.nextAfter } : { entries: r.entries };
  }

  /** Puts to many appliances at once; one settled result per target, in order. */
  putShards(targets: PutTarget[], options: RequestOptions = {}): Promise<Array<PromiseSettledResult<void>>> {
    return Promise.allSettled(targets.map((t) => this.putShard(t.peer, t.key, t.meta, t.segments, options)));
  }

  /** Fetches from many appliances at once; one settled result per target, in order. */
  fetchShards(
    targets: FetchTarget[],
    options: RequestOptions = {},
  ): Promise<Array<PromiseSettledResult<FetchedShard>>> {
    return Promise.allSettled(targets.map((t) => this.fetchShard(t.peer, t.key, t.range, options)));
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private simple(peer: ShardPeer, what: string, body: RequestBody, options: RequestOptions) {
    return this.run(peer, what, body, options, async (framed, label) => {
      await framed.end();
      const r = await this.readResponse(framed, label);
      return r;
    });
  }

  private async readResponse(framed: FramedStream, label: string): Promise<ResponseBody> {
    const frame = await framed.next();
    if (frame === null) throw new ShardConnectionLostError(label, 'stream ended without a response');
    if (frame.type === FrameType.ERROR) {
      const e = decodeError(frame.payload);
      throw errorForStatus(label, e.status, e.message);
    }
    if (frame.type !== FrameType.RESPONSE)
      throw new ShardProtocolError(label, `expected RESPONSE, got type ${frame.type}`);
    const res = decodeResponse(frame.payload);
    if (res.status !== Status.OK) throw errorForStatus(label, res.status, res.message);
    return res.body;
  }

  /** Opens a stream, sends the request, runs `exchange`, and turns every failure into a ShardClientError. */
  private run<T>(
    peer: ShardPeer,
    what: string,
    body: RequestBody,
    options: RequestOptions,
    exchange: (framed: FramedStream, label: string) => Promise<T>,
  ): Promise<T>;
  private run<T>(
    peer: ShardPeer,
    what: string,
    body: RequestBody,
    options: RequestOptions,
    framedOptions: FramedStreamOptions,
    exchange: (framed: FramedStream, label: string) => Promise<T>,
  ): Promise<T>;
  private async run<T>(
    peer: ShardPeer,
    what: string,
    body: RequestBody,
    options: RequestOptions,
    framedOrExchange: FramedStreamOptions | ((framed: FramedStream, label: string) => Promise<T>),
    maybeExchange?: (framed: FramedStream, label: string) => Promise<T>,
  ): Promise<T> {
    const framedOptions = typeof framedOrExchange === 'function' ? {} : framedOrExchange;
    const exchange = (typeof framedOrExchange === 'function' ? framedOrExchange : maybeExchange) as (
      framed: FramedStream,
      label: string,
    ) => Promise<T>;
    const label = peerLabel(peer);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    let request: Buffer;
    try {
      request = encodeRequest({
        version: PROTOCOL_VERSION,
        deadlineMs: timeoutMs,
        body,
        ...(options.requestId !== undefined ? { requestId: options.requestId } : {}),
      });
    } catch (err) {
      throw errorForStatus(label, Status.BAD_REQUEST, (err as Error).message);
    }
    if (options.signal?.aborted) throw new ShardCancelledError(label, what, { cause: options.signal.reason });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    const onCancel = (): void => controller.abort(options.signal?.reason ?? new Error('cancelled'));
    options.signal?.addEventListener('abort', onCancel, { once: true });
    let framed: FramedStream | undefined;
    try {
      return await abortable(
        (async () => {
          const conn = await this.pool.get(peer);
          const stream = await conn.openStream();
          framed = new FramedStream(stream, framedOptions);
          if (controller.signal.aborted) {
            framed.abort();
            throw controller.signal.reason;
          }
          await framed.write(request);
          return exchange(framed, label);
        })(),
        controller.signal,
      );
    } catch (err) {
      framed?.abort();
      if (controller.signal.aborted) {
        if (controller.signal.reason === TIMEOUT) throw new ShardTimeoutError(label, timeoutMs, what);
        throw new ShardCancelledError(label, what, { cause: controller.signal.reason });
      }
      throw toClientError(err, label, what);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
    }
  }
}

function expectOp<O extends ResponseBody['op']>(
  body: ResponseBody,
  op: O,
  label: string,
): Extract<ResponseBody, { op: O }> {
  if (body.op !== op) throw new ShardProtocolError(label, `response is for op ${body.op}, not ${op}`);
  return body as Extract<ResponseBody, { op: O }>;
}

function toClientError(err: unknown, label: string, what: string): ShardClientError {
  if (err instanceof ShardClientError) return err;
  if (err instanceof ProtocolError)
    return new ShardProtocolError(label, `${what}: ${err.message}`, { cause: err });
  if (err instanceof TransportError) {
    switch (err.code) {
      case 'UNREACHABLE':
      case 'CONNECT_TIMEOUT':
      case 'TLS_REJECTED':
        return new ShardUnreachableError(label, `${what}: ${err.message}`, { cause: err });
      default:
        return new ShardConnectionLostError(label, `${what}: ${err.message}`, { cause: err });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ShardConnectionLostError(label, `${what}: ${message}`, { cause: err });
}
