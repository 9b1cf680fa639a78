// Streaming decoder for `Content-Encoding: aws-chunked` bodies: signed chunks (every chunk signature checked
// against the chain started by the seed signature), unsigned chunks, and trailing headers with their signature.
// Memory is bounded by one header/trailer line: chunk data is passed through as it arrives, never buffered.
import { createHash, type Hash } from 'node:crypto';
import {
  EMPTY_SHA256,
  S3AuthError,
  canonicalTrailers,
  chunkSignature,
  signaturesEqual,
  trailerSignature,
  type ChunkSigningContext,
} from '../../shared/sigv4/index.ts';

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk (and the trailer) signature is verified. */
  signing?: ChunkSigningContext;
  /** True for the -TRAILER forms: trailing headers follow the final chunk. */
  trailer: boolean;
  /** Trailer names announced in `x-amz-trailer`; when given, exactly these must arrive. */
  declaredTrailers?: readonly string[];
  /** `x-amz-decoded-content-length`, enforced when given. */
  decodedContentLength?: number;
  /** Smallest signed chunk other than the last (S3: 8 KiB). */
  minChunkSize?: number;
  /** Longest chunk header or trailer line (default 4 KiB). */
  maxLineLength?: number;
  /** Most trailer bytes in total (default 16 KiB). */
  maxTrailerBytes?: number;
}

export interface AwsChunkedResult {
  decodedLength: number;
  /** Trailing headers (lower-case names, x-amz-trailer-signature excluded), in arrival order. */
  trailers: Array<[string, string]>;
}

type State = 'size-line' | 'data' | 'data-crlf' | 'trailers' | 'done';

const CR = 0x0d;
const LF = 0x0a;
const HEX_SIZE = /^[0-9a-fA-F]{1,13}$/; // ≤ 2^52: exact as a JS number
const HEX_SIGNATURE = /^[0-9a-fA-F]{64}$/;

function framing(message: string): S3AuthError {
  return new S3AuthError('IncompleteBody', `Malformed aws-chunked body: ${message}`);
}

/** Push-driven state machine; `push` hands decoded data to `emit` (sub-arrays of the input, no copies). */
export class AwsChunkedDecoder {
  private state: State = 'size-line';
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0;
  private crlfSeen = 0;
  private decoded = 0;
  private trailerBytes = 0;
  private chunkHash: Hash | undefined;
  private chunkSig = '';
  private previousSignature: string;
  private smallChunkSeen = false;
  private readonly trailerList: Array<[string, string]> = [];
  private trailerSig: string | undefined;
  private readonly options: AwsChunkedOptions;
  private readonly maxLine: number;

  constructor(options: AwsChunkedOptions) {
    this.options = options;
    this.previousSignature = options.signing?.seedSignature ?? '';
    this.maxLine = options.maxLineLength ?? 4096;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  get decodedLength(): number {
    return this.decoded;
  }

  push(input: Uint8Array, emit: (data: Buffer) => void): void {
    const buf = Buffer.isBuffer(input)
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'size-line':
        case 'trailers': {
          const lineEnd = this.readLine(buf, pos);
          if (lineEnd < 0) return;
          pos = lineEnd;
          const text = this.takeLine();
          if (this.state === 'size-line') this.onSizeLine(text);
          else this.onTrailerLine(text);
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, buf.length - pos);
          const data = buf.subarray(pos, pos + take);
          this.chunkHash?.update(data);
          this.remaining -= take;
          pos += take;
          emit(data);
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          const expected = this.crlfSeen === 0 ? CR : LF;
          if (buf[pos] !== expected)
            throw framing('chunk data is not followed by CRLF (chunk longer than its size?)');
          pos++;
          this.crlfSeen++;
          if (this.crlfSeen === 2) this.endDataChunk();
          break;
        }
        case 'done':
          throw new S3AuthError(
            'InvalidRequest',
            'Malformed aws-chunked body: data after the end of the body.',
          );
      }
    }
  }

  /** Call at end of input; throws when the body stopped early. */
  end(): AwsChunkedResult {
    if (this.state === 'trailers' && this.lineLength === 0) this.finishTrailers(); // tolerate a missing final CRLF
    if (this.state !== 'done') {
      throw new S3AuthError(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header.',
      );
    }
    return { decodedLength: this.decoded, trailers: this.trailerList };
  }

  /** Appends bytes of a CRLF-terminated line; returns the position after LF, or -1 if the line continues. */
  private readLine(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    const end = lf < 0 ? buf.length : lf + 1;
    this.lineLength += end - pos;
    if (this.lineLength > this.maxLine + 2) throw framing('chunk header or trailer line too long');
    this.line.push(buf.subarray(pos, end));
    return lf < 0 ? -1 : end;
  }

  private takeLine(): string {
    const whole = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line);
    this.line = [];
    this.lineLength = 0;
    if (whole.length < 2 || whole[whole.length - 2] !== CR) throw framing('line not terminated by CRLF');
    const text = whole.subarray(0, whole.length - 2).toString('latin1');
    if (hasControlCharacter(text)) throw framing('control character in a chunk header or trailer line');
    return text;
  }

  private onSizeLine(text: string): void {
    const [sizeText = '', ...extensions] = text.split(';');
    if (!HEX_SIZE.test(sizeText.trim()) || extensions.some((x) => x.trim() === '')) {
      throw new S3AuthError(
        'InvalidChunkSizeError',
        `Malformed aws-chunked body: invalid chunk size "${sizeText}".`,
      );
    }
    const size = parseInt(sizeText.trim(), 16);
    let signature: string | undefined;
    for (const ext of extensions) {
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature') signature = ext.slice(eq + 1).trim();
    }
    if (this.options.signing) {
      if (signature === undefined || !HEX_SIGNATURE.test(signature)) {
        throw new S3AuthError(
          'SignatureDoesNotMatch',
          'Missing or malformed chunk-signature in aws-chunked body.',
        );
      }
      if (size > 0 && this.smallChunkSeen) {
        throw new S3AuthError(
          'InvalidChunkSizeError',
          'Only the last chunk is allowed to have a size less than 8192 bytes',
        );
      }
      if (size > 0 && size < (this.options.minChunkSize ?? 8192)) this.smallChunkSeen = true;
      this.chunkSig = signature;
    }
    const declared = this.options.decodedContentLength;
    if (declared !== undefined && this.decoded + size > declared) {
      throw new S3AuthError(
        'InvalidArgument',
        'The aws-chunked body carries more data than x-amz-decoded-content-length declares.',
        { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: String(declared) },
      );
    }
    if (size === 0) {
      if (this.options.signing) this.checkChunkSignature(EMPTY_SHA256);
      this.state = 'trailers';
      return;
    }
    this.decoded += size;
    this.remaining = size;
    this.crlfSeen = 0;
    this.chunkHash = this.options.signing ? createHash('sha256') : undefined;
    this.state = 'data';
  }

  private endDataChunk(): void {
    if (this.chunkHash) this.checkChunkSignature(this.chunkHash.digest('hex'));
    this.chunkHash = undefined;
    this.state = 'size-line';
  }

  private checkChunkSignature(dataSha256: string): void {
    const signing = this.options.signing!;
    const expected = chunkSignature(signing, this.previousSignature, dataSha256);
    if (!signaturesEqual(expected, this.chunkSig)) {
      throw new S3AuthError(
        'SignatureDoesNotMatch',
        'The chunk signature we calculated does not match the signature you provided.',
      );
    }
    this.previousSignature = expected;
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.finishTrailers();
      return;
    }
    this.trailerBytes += text.length + 2;
    if (this.trailerBytes > (this.options.maxTrailerBytes ?? 16384))
      throw malformedTrailer('trailers too large');
    if (!this.options.trailer)
      throw malformedTrailer('trailing headers sent without a -TRAILER content hash');
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformedTrailer(`"${text}" is not a header`);
    const name = text
      .slice(0, colon)
      .replace(/^[ \t]+|[ \t]+$/g, '')
      .toLowerCase();
    const value = text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (this.trailerSig !== undefined)
      throw malformedTrailer('x-amz-trailer-signature must be the last trailer');
    if (name === 'x-amz-trailer-signature') {
      this.trailerSig = value;
      return;
    }
    if (this.trailerList.some(([n]) => n === name)) throw malformedTrailer(`trailer ${name} repeated`);
    this.trailerList.push([name, value]);
  }

  private finishTrailers(): void {
    const declared = this.options.declaredTrailers;
    if (declared) {
      const got = this.trailerList.map(([n]) => n);
      const missing = declared.filter((n) => !got.includes(n));
      const extra = got.filter((n) => !declared.includes(n));
      if (missing.length > 0)
        throw malformedTrailer(`missing trailer ${missing.join(', ')} announced in x-amz-trailer`);
      if (extra.length > 0)
        throw malformedTrailer(`trailer ${extra.join(', ')} was not announced in x-amz-trailer`);
    }
    if (this.options.signing && this.options.trailer) {
      if (this.trailerSig === undefined || !HEX_SIGNATURE.test(this.trailerSig)) {
        throw new S3AuthError('SignatureDoesNotMatch', 'Missing or malformed x-amz-trailer-signature.');
      }
      const expected = trailerSignature(
        this.options.signing,
        this.previousSignature,
        canonicalTrailers(this.trailerList),
      );
      if (!signaturesEqual(expected, this.trailerSig)) {
        throw new S3AuthError(
          'SignatureDoesNotMatch',
          'The trailer signature we calculated does not match the signature you provided.',
        );
      }
    }
    const declaredLength = this.options.decodedContentLength;
    if (declaredLength !== undefined && this.decoded !== declaredLength) {
      throw new S3AuthError(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.',
      );
    }
    this.state = 'done';
  }
}

/** Any control character other than horizontal tab. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function malformedTrailer(why: string): S3AuthError {
  return new S3AuthError(
    'MalformedTrailerError',
    `The request contained trailing data that was not well-formed or did not conform to our published schema: ${why}.`,
  );
}

/** Decodes an aws-chunked body stream; yields the payload bytes, returns the trailers at the end. */
export async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  options: AwsChunkedOptions,
): AsyncGenerator<Buffer, AwsChunkedResult, undefined> {
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  const emit = (data: Buffer): void => {
    out.push(data);
  };
  for await (const piece of source) {
    decoder.push(piece, emit);
    for (const data of out) yield data;
    out.length = 0;
  }
  return decoder.end();
}
