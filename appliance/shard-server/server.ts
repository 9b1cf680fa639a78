// The shard server: serves the shard protocol from a ShardBackend over a transport, one request per stream.
// Memory is bounded: PUT bodies reserve their declared size from a byte budget before they are read (so a
// slow disk stops readers, and flow control stops senders); FETCH sends a few segments at a time, each
// written only when the transport accepted the previous ones.
import { crc32c } from '../../shared/checksum/index.ts';
import { crc32cCombine } from '../../shared/protocol/crc32c-combine.ts';
import { FrameType, placeSegmentParts, type StreamFrame } from '../../shared/protocol/frames.ts';
import { ProtocolError, Status, statusName, type StatusCode } from '../../shared/protocol/errors.ts';
import {
  Op,
  PROTOCOL_VERSION,
  decodeEnd,
  decodeRequest,
  encodeEnd,
  encodeError,
  encodeResponse,
  opName,
  peekRequestOp,
  type FetchShardRequest,
  type ListRequest,
  type PutShardRequest,
  type RequestMessage,
  type ResponseBody,
  type WireShardKey,
} from '../../shared/protocol/messages.ts';
import { FramedStream } from '../../shared/transport/framed-stream.ts';
import type { TlsIdentity } from '../../shared/tls/cluster-certs.ts';
import type { DuplexStream, PeerInfo, Transport, TransportListener } from '../../shared/transport/types.ts';
import type { ShardBackend } from './backend.ts';
import { BufferPool } from './buffer-pool.ts';
import { Semaphore } from './semaphore.ts';
import { abortable } from '../../shared/async/abortable.ts';

export interface ShardServerLimits {
  /** Requests served at once across all connections; more wait (their senders are held by flow control). */
  maxConcurrentRequests: number;
  /** Request streams per connection. */
  maxStreamsPerConnection: number;
  /** Bytes of PUT bodies held in memory at once across all requests. */
  putMemoryBytes: number;
  /** Largest shard a PUT may carry. */
  maxShardBytes: number;
  /** Largest single segment. */
  maxSegmentBytes: number;
  /** Segments read from the store per step of a FETCH. */
  fetchBatchSegments: number;
  /** Deadline when the client asks for none, and the most a client may ask for. */
  defaultDeadlineMs: number;
  maxDeadlineMs: number;
  /** Most shards one LIST page returns. */
  maxListLimit: number;
}

export const DEFAULT_LIMITS: ShardServerLimits = {
  maxConcurrentRequests: 128,
  maxStreamsPerConnection: 64,
  putMemoryBytes: 256 << 20,
  maxShardBytes: 64 << 20,
  maxSegmentBytes: 1 << 20,
  fetchBatchSegments: 16,
  defaultDeadlineMs: 30_000,
  maxDeadlineMs: 300_000,
  maxListLimit: 1000,
};

export interface ShardServerOptions {
  store: ShardBackend;
  transport: Transport;
  tls: TlsIdentity;
  host?: string;
  port?: number;
  limits?: Partial<ShardServerLimits>;
  /** Called for requests that failed on the server's side (not for client mistakes). */
  onError?: (err: unknown, context: ShardRequestContext) => void;
  /** Called once per request stream when it is finished (answered, failed or reset), for logs and metrics. */
  onRequestDone?: (context: ShardRequestContext, outcome: ShardRequestOutcome) => void;
  /** PUT receive buffers (default: a pool keeping up to a quarter of `putMemoryBytes` idle). */
  receiveBuffers?: BufferPool;
}

/** What the server knows about a request, for logs. */
export interface ShardRequestContext {
  /** Op name (`PUT_SHARD`, `FETCH_SHARD`, …), `unknown` before the REQUEST frame was read. */
  op: string;
  peer: PeerInfo;
  /** The client's request id (RequestOptions.requestId), when it sent one. */
  requestId?: string;
}

export interface ShardRequestOutcome {
  /** Wire status name (`OK`, `NOT_FOUND`, `DEADLINE_EXCEEDED`, …) or `RESET` when the stream was dropped. */
  status: string;
  durationMs: number;
}

export interface ShardServer {
  readonly host: string;
  readonly port: number;
  readonly inflightRequests: number;
  close(): Promise<void>;
}

/** A request-level failure that is answered with a RESPONSE (status + message) rather than a reset. */
class RequestFailure extends Error {
  constructor(
    readonly status: Exclude<StatusCode, typeof Status.OK>,
    message: string,
  ) {
    super(message);
  }
}

const STORE_CODE_STATUS: Record<string, Exclude<StatusCode, typeof Status.OK>> = {
  SHARD_NOT_FOUND: Status.NOT_FOUND,
  CORRUPT_SEGMENT: Status.CORRUPT,
  CORRUPT_RECORD: Status.CORRUPT,
  DISK_FULL: Status.DISK_FULL,
  INVALID_SHARD_KEY: Status.BAD_REQUEST,
  INVALID_ARGUMENT: Status.BAD_REQUEST,
  SEGMENT_TOO_LARGE: Status.BAD_REQUEST,
  STORE_CLOSED: Status.BUSY,
};

function toFailure(err: unknown): RequestFailure {
  if (err instanceof RequestFailure) return err;
  if (err instanceof ProtocolError) return new RequestFailure(Status.BAD_REQUEST, err.message);
  const code = (err as { code?: unknown } | null)?.code;
  const status = typeof code === 'string' ? STORE_CODE_STATUS[code] : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new RequestFailure(status ?? Status.INTERNAL, message);
}

class DeadlineExceeded extends Error {}

export async function startShardServer(options: ShardServerOptions): Promise<ShardServer> {
  const limits: ShardServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const store = options.store;
  const requests = new Semaphore(limits.maxConcurrentRequests);
  const putMemory = new Semaphore(limits.putMemoryBytes);
  // Idle receive buffers kept for reuse: a quarter of the PUT budget (8 MiB shards: 8 of them).
  const receiveBuffers =
    options.receiveBuffers ?? new BufferPool(Math.floor(limits.putMemoryBytes / 4), limits.maxShardBytes);
  const startedAt = Date.now();
  const active = new Set<DuplexStream>();
  let inflight = 0;
  let closing = false;

  async function serve(stream: DuplexStream, peer: PeerInfo): Promise<void> {
    const framed = new FramedStream(stream, { maxSegmentPayload: limits.maxSegmentBytes + 8 });
    const deadline = new AbortController();
    const startedMs = performance.now();
    const context: ShardRequestContext = { op: 'unknown', peer };
    let status = 'RESET';
    let timer: NodeJS.Timeout | undefined;
    let answered = false;
    const answer = async (bytes: Buffer): Promise<void> => {
      answered = true;
      await framed.write(bytes);
    };
    const answerFailure = async (code: Exclude<StatusCode, typeof Status.OK>, message: string) => {
      status = statusName(code);
      await answer(encodeResponse({ status: code, op: Op[context.op as keyof typeof Op] ?? 0, message }));
      await framed.end();
    };
    try {
      const first = await framed.next();
      if (first === null) {
        status = ''; // peer opened and closed a stream without a request: nothing to report
        return;
      }
      if (first.type !== FrameType.REQUEST)
        throw new ProtocolError(`expected REQUEST, got frame type ${first.type}`);
      const peeked = peekRequestOp(first.payload);
      if (peeked) context.op = opName(peeked.op);
      if (peeked && peeked.version !== PROTOCOL_VERSION) {
        await answerFailure(
          Status.UNSUPPORTED_VERSION,
          `protocol version ${peeked.version} is not supported (this server speaks ${PROTOCOL_VERSION})`,
        );
        return;
      }
      let request: RequestMessage;
      try {
        request = decodeRequest(first.payload);
      } catch (err) {
        await answerFailure(Status.BAD_REQUEST, (err as Error).message);
        return;
      }
      if (request.requestId !== undefined) context.requestId = request.requestId;
      const deadlineMs = Math.min(request.deadlineMs || limits.defaultDeadlineMs, limits.maxDeadlineMs);
      timer = setTimeout(() => deadline.abort(new DeadlineExceeded()), deadlineMs);
      await requests.acquire(1, deadline.signal);
      inflight++;
      try {
        await handle(request, framed, deadline.signal, answer);
        status = 'OK';
      } finally {
        inflight--;
        requests.release(1);
      }
    } catch (err) {
      if (deadline.signal.aborted) {
        status = 'DEADLINE_EXCEEDED';
        await sendError(framed, Status.DEADLINE_EXCEEDED, `${context.op}: deadline exceeded`);
        return;
      }
      if (err instanceof ProtocolError) {
        // Malformed bytes: tell the peer why and drop this stream; the connection and its other streams go on.
        status = 'BAD_REQUEST';
        await sendError(framed, Status.BAD_REQUEST, err.message);
        return;
      }
      const failure = toFailure(err);
      if (failure.status === Status.INTERNAL) options.onError?.(err, context);
      if (
        (err as { code?: unknown })?.code === 'STREAM_RESET' ||
        (err as { name?: string })?.name === 'TransportError'
      ) {
        status = 'RESET';
        framed.abort();
        return;
      }
      status = statusName(failure.status);
      if (!answered) {
        try {
          await answerFailure(failure.status, failure.message);
          // The client may still be sending a body we will not read; it resets the stream once it sees the
          // answer, and if it does not, this does.
          setTimeout(() => framed.abort(), 2000).unref();
          return;
        } catch {
          // fall through to abort
        }
      }
      await sendError(framed, failure.status, failure.message);
    } finally {
      if (timer) clearTimeout(timer);
      active.delete(stream);
      if (status !== '') {
        try {
          options.onRequestDone?.(context, { status, durationMs: performance.now() - startedMs });
        } catch {
          // a logging hook must not break serving
        }
      }
    }
  }

  /** Best effort: an ERROR frame, then reset the stream so neither side waits for more. */
  async function sendError(framed: FramedStream, status: StatusCode, message: string): Promise<void> {
    try {
      await withTimeout(framed.write(encodeError({ status, message })), 1000);
      await withTimeout(framed.end(), 1000);
    } catch {
      framed.abort();
    }
  }

  async function handle(
    request: RequestMessage,
    framed: FramedStream,
    signal: AbortSignal,
    answer: (bytes: Buffer) => Promise<void>,
  ): Promise<void> {
    const body = request.body;
    switch (body.op) {
      case Op.PUT_SHARD:
        await handlePut(body, framed, signal);
        await answer(encodeResponse({ status: Status.OK, body: { op: Op.PUT_SHARD } }));
        await framed.end();
        return;
      case Op.FETCH_SHARD:
        await expectRequestEnd(framed);
        await handleFetch(body, framed, signal, answer);
        return;
      default: {
        await expectRequestEnd(framed);
        const result = await abortable(simpleOp(body), signal);
        await answer(encodeResponse({ status: Status.OK, body: result }));
        await framed.end();
      }
    }
  }

  async function simpleOp(body: RequestMessage['body']): Promise<ResponseBody> {
    switch (body.op) {
      case Op.DELETE_SHARD:
        return { op: Op.DELETE_SHARD, existed: await store.delete(body.key) };
      case Op.SHARD_STAT: {
        const d = await store.stat(body.key);
        return { op: Op.SHARD_STAT, info: describe(body.key, d) };
      }
      case Op.STAT: {
        const s = await store.stats();
        return {
          op: Op.STAT,
          stats: { ...s, inflightRequests: inflight, uptimeSeconds: (Date.now() - startedAt) / 1000 },
        };
      }
      case Op.LIST:
        return list(body);
      default:
        throw new RequestFailure(Status.BAD_REQUEST, `unexpected op ${opName(body.op)}`);
    }
  }

  async function list(body: ListRequest): Promise<ResponseBody> {
    const page = await store.list(body.after, Math.min(body.limit, limits.maxListLimit));
    return {
      op: Op.LIST,
      entries: page.entries.map((e) => describe(e.key, e)),
      ...(page.nextAfter ? { nextAfter: page.nextAfter } : {}),
    };
  }

  /** Requests other than PUT carry no body: the next thing on the stream must be its end. */
  async function expectRequestEnd(framed: FramedStream): Promise<void> {
    const extra = await framed.next();
    if (extra !== null)
      throw new ProtocolError(`unexpected frame type ${extra.type} after a request without body`);
  }

  async function handlePut(body: PutShardRequest, framed: FramedStream, signal: AbortSignal): Promise<void> {
    if (body.totalBytes > Math.min(limits.maxShardBytes, limits.putMemoryBytes)) {
      throw new RequestFailure(
        Status.BAD_REQUEST,
        `shard of ${body.totalBytes} bytes exceeds this appliance's limit of ${Math.min(limits.maxShardBytes, limits.putMemoryBytes)}`,
      );
    }
    if (body.segmentCount === 0)
      throw new RequestFailure(Status.BAD_REQUEST, 'a shard needs at least one segment');
    // Reserve the memory first: until it is available, nothing is read and the sender is held back.
    const untilDeadline = deadlineRace(signal);
    const reserved = Math.max(body.totalBytes, 1);
    await putMemory.acquire(reserved, signal);
    // Segments are copied out of the transport's chunks into one pooled buffer as they arrive; the buffer (and
    // the reservation) go back only once the store has settled, even if this request gave up earlier.
    const buffer = receiveBuffers.take(body.totalBytes);
    // From here on the transport writes segment bytes straight into it (those parsed earlier are copied).
    framed.receiveSegmentsInto(buffer);
    let stored: Promise<void> | undefined;
    try {
      const segments: Buffer[] = [];
      let received = 0;
      let crc = 0;
      for (;;) {
        const frame: StreamFrame | null = await untilDeadline(framed.nextFrame());
        if (frame === null) throw new ProtocolError('PUT body ended before its END frame', true);
        if (frame.type === FrameType.SEGMENT) {
          if (frame.index !== segments.length) {
            throw new ProtocolError(`segment ${frame.index} arrived where ${segments.length} was expected`);
          }
          if (segments.length >= body.segmentCount)
            throw new ProtocolError(`more than ${body.segmentCount} segments`);
          if (received + frame.length > body.totalBytes)
            throw new ProtocolError(`body exceeds the declared ${body.totalBytes} bytes`);
          const segment = buffer.subarray(received, received + frame.length);
          placeSegmentParts(frame.parts, segment);
          received += frame.length;
          if (crc32c(segment) !== frame.crc) {
            throw new RequestFailure(Status.CORRUPT, `segment ${frame.index}: CRC32C mismatch in transit`);
          }
          crc = crc32cCombine(crc, frame.crc, frame.length);
          segments.push(segment);
        } else if (frame.type === FrameType.END) {
          const end = decodeEnd(frame.payload);
          if (end.segmentCount !== segments.length || segments.length !== body.segmentCount) {
            throw new ProtocolError(
              `END says ${end.segmentCount} segments; got ${segments.length} of ${body.segmentCount}`,
            );
          }
          if (received !== body.totalBytes) {
            throw new ProtocolError(`got ${received} bytes; the request declared ${body.totalBytes}`);
          }
          if (end.crc !== crc)
            throw new RequestFailure(Status.CORRUPT, 'CRC32C of the whole shard does not match');
          break;
        } else if (frame.type === FrameType.ERROR) {
          throw new RequestFailure(Status.CANCELLED, 'client cancelled the PUT');
        } else {
          throw new ProtocolError(`unexpected frame type ${frame.type} in a PUT body`);
        }
      }
      await expectRequestEnd(framed);
      // Once the store has the shard it completes even past the deadline: a late acknowledgement is harmless,
      // a half-written shard is not possible (the store writes whole records).
      stored = store.put(body.key, { rsData: body.rsData, rsParity: body.rsParity }, segments);
      await abortable(stored, signal);
    } finally {
      // Nothing more may land in the buffer once it can go back to the pool.
      framed.receiveSegmentsInto(undefined);
      const release = (): void => {
        receiveBuffers.give(buffer);
        putMemory.release(reserved);
      };
      if (stored === undefined) release();
      else stored.then(release, release);
    }
  }

  async function handleFetch(
    body: FetchShardRequest,
    framed: FramedStream,
    signal: AbortSignal,
    answer: (bytes: Buffer) => Promise<void>,
  ): Promise<void> {
    const untilDeadline = deadlineRace(signal);
    const d = await abortable(store.stat(body.key), signal);
    const total = d.segmentLengths.length;
    const first = body.firstSegment;
    if (first >= total && !(first === 0 && total === 0)) {
      throw new RequestFailure(Status.BAD_REQUEST, `segment ${first} is past the shard's ${total} segments`);
    }
    const count = body.segmentCount === 0 ? total - first : Math.min(body.segmentCount, total - first);
    let totalLength = 0;
    for (let i = first; i < first + count; i++) totalLength += d.segmentLengths[i] ?? 0;
    let pending: Promise<Uint8Array[]> =
      count === 0
        ? Promise.resolve([])
        : abortable(store.readSegments(body.key, first, Math.min(count, limits.fetchBatchSegments)), signal);
    // Read the first batch before answering, so a missing or corrupt shard is a clean status, not a reset.
    let batch = await pending;
    await answer(
      encodeResponse({
        status: Status.OK,
        body: { op: Op.FETCH_SHARD, totalLength, firstSegment: first, segmentCount: count },
      }),
    );
    let crc = 0;
    let index = first;
    const end = first + count;
    for (;;) {
      const nextStart = index + batch.length;
      // Read ahead one batch while this one is being sent.
      pending =
        nextStart < end
          ? abortable(
              store.readSegments(body.key, nextStart, Math.min(end - nextStart, limits.fetchBatchSegments)),
              signal,
            )
          : Promise.resolve([]);
      pending.catch(() => undefined);
      for (const data of batch) {
        const segCrc = crc32c(data);
        crc = crc32cCombine(crc, segCrc, data.byteLength);
        await untilDeadline(framed.writeSegment(index, segCrc, data));
        index++;
      }
      if (index >= end) break;
      batch = await pending;
      if (batch.length === 0)
        throw new RequestFailure(Status.INTERNAL, `store returned no segments at ${index}`);
    }
    await framed.write(encodeEnd({ segmentCount: count, crc }));
    await framed.end();
  }

  const listener: TransportListener = await options.transport.listen(
    {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      tls: options.tls,
      maxStreamsPerConnection: limits.maxStreamsPerConnection,
    },
    (stream, peer) => {
      if (closing) {
        stream.abort();
        return;
      }
      active.add(stream);
      void serve(stream, peer);
    },
  );

  return {
    host: listener.host,
    port: listener.port,
    get inflightRequests() {
      return inflight;
    },
    async close() {
      closing = true;
      for (const s of active) s.abort();
      await listener.close();
    },
  };
}

function describe(key: WireShardKey, d: { rsData: number; rsParity: number; segmentLengths: number[] }) {
  return {
    key,
    rsData: d.rsData,
    rsParity: d.rsParity,
    segmentCount: d.segmentLengths.length,
    length: d.segmentLengths.reduce((a, b) => a + b, 0),
  };
}

/**
 * `abortable` for the many small steps of one request (a frame read or a segment write each): one abort
 * listener per request instead of one added and removed per step.
 */
function deadlineRace(signal: AbortSignal): <T>(p: Promise<T>) => Promise<T> {
  let rejectAborted!: (reason: unknown) => void;
  const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
  aborted.catch(() => undefined);
  if (signal.aborted) rejectAborted(signal.reason);
  else signal.addEventListener('abort', () => rejectAborted(signal.reason), { once: true });
  return <T>(p: Promise<T>): Promise<T> => {
    if (signal.aborted) {
      p.catch(() => undefined);
      return Promise.reject(signal.reason as Error);
    }
    return Promise.race([p, aborted]);
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
