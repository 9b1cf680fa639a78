// Incremental HTTP/1.1 response parser (RFC 9112) for a client that sends one request at a time on a connection:
// status line, headers, and the body framed by Content-Length, chunked transfer coding or the connection's end.
// Pure: bytes in, responses out; the connection code (connection-pool.ts) owns the socket.

export interface Http1Response {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
}

export class Http1ParseError extends Error {
  override readonly name = 'Http1ParseError';
}

export interface ResponseParserLimits {
  /** Status line and header fields together. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Decoded body. Default 256 MiB. */
  maxBodyBytes?: number;
}

type State =
  'idle' | 'head' | 'fixed' | 'chunkSize' | 'chunkData' | 'chunkDataEnd' | 'trailers' | 'untilClose';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export class Http1ResponseParser {
  private state: State = 'idle';
  private pending: Buffer = EMPTY;
  private bodyless = false;
  private remaining = 0;
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  private current: Omit<Http1Response, 'body'> | undefined;
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;

  constructor(limits: ResponseParserLimits = {}) {
    this.maxHeaderBytes = limits.maxHeaderBytes ?? 64 * 1024;
    this.maxBodyBytes = limits.maxBodyBytes ?? 256 * 1024 * 1024;
  }

  /** True from `expect` until the response is complete. */
  get busy(): boolean {
    return this.state !== 'idle';
  }

  /** A request was sent: parse its response next. `head`: the request was HEAD (the response has no body). */
  expect(head = false): void {
    if (this.state !== 'idle') throw new Http1ParseError('a response is already expected');
    this.state = 'head';
    this.bodyless = head;
  }

  /**
   * Feeds bytes read from the connection. Returns the response once it is complete (interim 1xx responses are
   * skipped), else undefined. Bytes beyond the response, or any bytes while no response is expected, are an error.
   */
  push(chunk: Buffer): Http1Response | undefined {
    if (chunk.length === 0) return undefined;
    if (this.state === 'idle') throw new Http1ParseError('bytes received while no response was expected');
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const done = this.step();
      if (done === 'more') return undefined;
      if (done !== 'continue') {
        if (this.pending.length > 0) throw new Http1ParseError('bytes received after the response');
        return done;
      }
    }
  }

  /** The connection ended. Returns the response if its body runs until the end; throws if one was cut short. */
  end(): Http1Response | undefined {
    if (this.state === 'idle') return undefined;
    if (this.state === 'untilClose') return this.finish();
    throw new Http1ParseError(
      this.state === 'head'
        ? 'connection closed before a response'
        : 'connection closed inside the response body',
    );
  }

  /** One parsing step on `pending`: 'more' needs bytes, 'continue' made progress, or the finished response. */
  private step(): 'more' | 'continue' | Http1Response {
    switch (this.state) {
      case 'head':
        return this.readHead();
      case 'fixed':
        if (!this.takeBodyBytes()) return 'more';
        return this.remaining === 0 ? this.finish() : 'more';
      case 'chunkSize': {
        const line = this.takeLine();
        if (line === undefined) return 'more';
        const sizeText = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new Http1ParseError(`bad chunk size "${sizeText}"`);
        this.remaining = parseInt(sizeText, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunkData';
        return 'continue';
      }
      case 'chunkData':
        if (!this.takeBodyBytes()) return 'more';
        if (this.remaining === 0) this.state = 'chunkDataEnd';
        return 'continue';
      case 'chunkDataEnd': {
        if (this.pending.length < 2) return 'more';
        if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a)
          throw new Http1ParseError('chunk data not followed by CRLF');
        this.pending = this.pending.subarray(2);
        this.state = 'chunkSize';
        return 'continue';
      }
      case 'trailers': {
        const line = this.takeLine();
        if (line === undefined) return 'more';
        return line === '' ? this.finish() : 'continue'; // trailer fields are read and dropped
      }
      case 'untilClose':
        if (this.pending.length > 0) this.addBody(this.pending);
        this.pending = EMPTY;
        return 'more';
      case 'idle':
        return 'more';
    }
  }

  private readHead(): 'more' | 'continue' | Http1Response {
    const end = this.pending.indexOf(HEAD_END);
    if (end < 0) {
      if (this.pending.length > this.maxHeaderBytes)
        throw new Http1ParseError(`response head larger than ${this.maxHeaderBytes} bytes`);
      return 'more';
    }
    if (end > this.maxHeaderBytes)
      throw new Http1ParseError(`response head larger than ${this.maxHeaderBytes} bytes`);
    const lines = this.pending.toString('latin1', 0, end).split('\r\n');
    this.pending = this.pending.subarray(end + 4);
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!statusLine) throw new Http1ParseError(`bad status line "${lines[0]!.slice(0, 80)}"`);
    const minor = Number(statusLine[1]);
    const status = Number(statusLine[2]);
    const headers = parseFields(lines, 1);
    if (status >= 100 && status < 200) return 'continue'; // interim response: the real one follows
    const connection = (headers['connection'] ?? '').toLowerCase();
    const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    this.current = { status, headers, keepAlive };
    this.bodyParts = [];
    this.bodyBytes = 0;
    if (this.bodyless || status === 204 || status === 304) return this.finish();
    const transferEncoding = headers['transfer-encoding'];
    if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() === 'chunked') {
        this.state = 'chunkSize';
        return 'continue';
      }
      return this.readUntilClose();
    }
    const contentLength = headers['content-length'];
    if (contentLength === undefined) return this.readUntilClose();
    const lengths = new Set(contentLength.split(',').map((v) => v.trim()));
    const only = lengths.size === 1 ? [...lengths][0]! : '';
    if (!/^\d{1,15}$/.test(only)) throw new Http1ParseError(`bad content-length "${contentLength}"`);
    this.remaining = Number(only);
    if (this.remaining > this.maxBodyBytes)
      throw new Http1ParseError(`response body of ${this.remaining} bytes exceeds ${this.maxBodyBytes}`);
    if (this.remaining === 0) return this.finish();
    this.state = 'fixed';
    return 'continue';
  }

  private readUntilClose(): 'continue' {
    this.current!.keepAlive = false;
    this.state = 'untilClose';
    return 'continue';
  }

  private takeLine(): string | undefined {
    const end = this.pending.indexOf(CRLF);
    if (end < 0) {
      if (this.pending.length > this.maxHeaderBytes)
        throw new Http1ParseError('line too long in chunked body');
      return undefined;
    }
    const line = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(end + 2);
    return line;
  }

  /** Moves up to `remaining` pending bytes into the body; false when none are pending. */
  private takeBodyBytes(): boolean {
    const take = Math.min(this.remaining, this.pending.length);
    if (take === 0) return false;
    this.addBody(this.pending.subarray(0, take));
    this.pending = this.pending.subarray(take);
    this.remaining -= take;
    return true;
  }

  private addBody(part: Buffer): void {
    this.bodyBytes += part.length;
    if (this.bodyBytes > this.maxBodyBytes)
      throw new Http1ParseError(`response body exceeds ${this.maxBodyBytes} bytes`);
    this.bodyParts.push(part);
  }

  private finish(): Http1Response {
    const head = this.current!;
    const parts = this.bodyParts;
    const body = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.current = undefined;
    this.bodyParts = [];
    this.state = 'idle';
    return { ...head, body };
  }
}

function parseFields(lines: string[], from: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0 || line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09)
      throw new Http1ParseError(`bad header line "${line.slice(0, 80)}"`);
    const name = line.slice(0, colon).toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new Http1ParseError(`bad header name "${name}"`);
    const value = line.slice(colon + 1).trim();
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${prior}, ${value}`;
  }
  return headers;
}

function hasToken(list: string, token: string): boolean {
  return list.split(',').some((t) => t.trim() === token);
}
