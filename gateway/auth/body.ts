// Request body verification: aws-chunked decoding, x-amz-content-sha256, Content-MD5 and x-amz-checksum-*.
// The body is streamed through; every check that needs the whole body runs before the iterator finishes,
// so a caller that commits only after a complete iteration never commits an unverified body.
import { createHash, type Hash } from 'node:crypto';
import { S3AuthError, type RequestLike, type VerifiedRequest } from '../../shared/sigv4/index.ts';
import { decodeAwsChunked, type AwsChunkedOptions } from './aws-chunked.ts';
import {
  badDigest,
  checksumAlgorithmOfHeader,
  createChecksummer,
  isValidChecksumValue,
  type ChecksumAlgorithm,
  type Checksummer,
} from './checksums.ts';

export interface BodyVerification {
  /** Bytes of payload after aws-chunked decoding. */
  decodedLength: number;
  /** The client's checksum (header or trailer), verified; undefined when the client sent none. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  /** Checksum computed for `options.computeChecksum` (whether or not the client sent one). */
  computed?: { algorithm: ChecksumAlgorithm; value: string };
  /** Trailing headers of an aws-chunked body (lower-case names). */
  trailers: ReadonlyArray<readonly [string, string]>;
}

export interface DecodeBodyOptions {
  /** Also compute this checksum over the payload (e.g. to store it) even when the client sent none. */
  computeChecksum?: ChecksumAlgorithm;
}

function header(req: RequestLike, name: string): string | undefined {
  const value = req.headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(',');
}

function parseLength(req: RequestLike, name: string): number | undefined {
  const text = header(req, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text.trim())) {
    throw new S3AuthError('InvalidArgument', `${name} must be a non-negative integer.`, {
      ArgumentName: name,
      ArgumentValue: text,
    });
  }
  return Number(text.trim());
}

interface Expectations {
  contentSha256?: string;
  md5?: string;
  headerChecksum?: { algorithm: ChecksumAlgorithm; value: string };
  trailerChecksum?: ChecksumAlgorithm;
  contentLength?: number;
  chunked?: AwsChunkedOptions;
}

/** Reads every header the body is checked against; throws for malformed ones before any byte is read. */
function expectationsOf(req: RequestLike, verified: VerifiedRequest): Expectations {
  const e: Expectations = {};
  const checksumHeaders = Object.keys(req.headers).filter(
    (n) => req.headers[n] !== undefined && checksumAlgorithmOfHeader(n),
  );
  if (checksumHeaders.length > 1) {
    throw new S3AuthError(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  const checksumHeader = checksumHeaders[0];
  if (checksumHeader !== undefined) {
    const algorithm = checksumAlgorithmOfHeader(checksumHeader)!;
    const value = header(req, checksumHeader)!.trim();
    if (!isValidChecksumValue(algorithm, value)) {
      throw new S3AuthError('InvalidRequest', `Value for ${checksumHeader} header is invalid.`);
    }
    e.headerChecksum = { algorithm, value };
  }
  const md5 = header(req, 'content-md5');
  if (md5 !== undefined) {
    const bytes = Buffer.from(md5.trim(), 'base64');
    if (bytes.length !== 16 || bytes.toString('base64') !== md5.trim()) {
      throw new S3AuthError('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    }
    e.md5 = md5.trim();
  }
  const mode = verified.payloadMode;
  if (mode === 'sha256') e.contentSha256 = verified.payloadHash.toLowerCase();
  if (mode === 'sha256' || mode === 'unsigned') {
    e.contentLength = parseLength(req, 'content-length');
    return e;
  }

  const decodedContentLength = parseLength(req, 'x-amz-decoded-content-length');
  if (decodedContentLength === undefined && mode !== 'streaming-unsigned-trailer') {
    throw new S3AuthError(
      'MissingContentLength',
      'You must provide the x-amz-decoded-content-length HTTP header.',
    );
  }
  const trailer = mode === 'streaming-signed-trailer' || mode === 'streaming-unsigned-trailer';
  const declaredTrailers = (header(req, 'x-amz-trailer') ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  if (!trailer && declaredTrailers.length > 0) {
    throw new S3AuthError(
      'InvalidRequest',
      'x-amz-trailer requires a STREAMING-…-TRAILER x-amz-content-sha256.',
    );
  }
  for (const name of declaredTrailers) {
    const algorithm = checksumAlgorithmOfHeader(name);
    if (!algorithm) throw new S3AuthError('InvalidRequest', `The trailer ${name} is not supported.`);
    if (e.trailerChecksum || e.headerChecksum) {
      throw new S3AuthError(
        'InvalidRequest',
        'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
      );
    }
    e.trailerChecksum = algorithm;
  }
  e.chunked = {
    trailer,
    declaredTrailers: trailer ? declaredTrailers : undefined,
    decodedContentLength,
    signing:
      mode === 'streaming-signed' || mode === 'streaming-signed-trailer'
        ? {
            signingKey: verified.signingKey,
            amzDate: verified.amzDate,
            credentialScope: verified.credentialScope,
            seedSignature: verified.signature,
          }
        : undefined,
  };
  return e;
}

async function* plain(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, undefined, undefined> {
  for await (const piece of source) {
    yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  }
  return undefined;
}

/**
 * A request body being verified. Iterate it once; the iteration throws an S3AuthError (BadDigest,
 * XAmzContentSHA256Mismatch, SignatureDoesNotMatch, IncompleteBody, …) instead of finishing when anything
 * does not match. `result` settles when the iteration ends.
 */
export class VerifiedBody implements AsyncIterable<Buffer> {
  readonly result: Promise<BodyVerification>;
  private resolve!: (value: BodyVerification) => void;
  private reject!: (error: unknown) => void;
  private started = false;
  private readonly source: AsyncIterable<Uint8Array>;
  private readonly expect: Expectations;
  private readonly options: DecodeBodyOptions;

  constructor(source: AsyncIterable<Uint8Array>, expect: Expectations, options: DecodeBodyOptions) {
    this.source = source;
    this.expect = expect;
    this.options = options;
    this.result = new Promise<BodyVerification>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.result.catch(() => undefined); // the iterator reports the error; avoid an unhandled rejection
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, undefined, undefined> {
    if (this.started) throw new Error('VerifiedBody can be iterated only once');
    this.started = true;
    let finished = false;
    let decoded:
      AsyncGenerator<Buffer, { trailers: Array<[string, string]> } | undefined, undefined> | undefined;
    try {
      const e = this.expect;
      const sha256: Hash | undefined = e.contentSha256 ? createHash('sha256') : undefined;
      const md5: Hash | undefined = e.md5 ? createHash('md5') : undefined;
      const sums = new Map<ChecksumAlgorithm, Checksummer>();
      for (const algorithm of [
        e.headerChecksum?.algorithm,
        e.trailerChecksum,
        this.options.computeChecksum,
      ]) {
        if (algorithm && !sums.has(algorithm)) sums.set(algorithm, createChecksummer(algorithm));
      }
      decoded = e.chunked ? decodeAwsChunked(this.source, e.chunked) : plain(this.source);
      let length = 0;
      let step = await decoded.next();
      while (!step.done) {
        const data = step.value;
        length += data.length;
        sha256?.update(data);
        md5?.update(data);
        for (const sum of sums.values()) sum.update(data);
        yield data;
        step = await decoded.next();
      }
      const trailers = step.value?.trailers ?? [];

      if (e.contentLength !== undefined && length !== e.contentLength) {
        throw new S3AuthError(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header.',
        );
      }
      if (sha256 && sha256.digest('hex') !== e.contentSha256) {
        throw new S3AuthError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      if (md5 && md5.digest('base64') !== e.md5) {
        throw new S3AuthError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      let checksum = e.headerChecksum;
      if (e.trailerChecksum) {
        const name = `x-amz-checksum-${e.trailerChecksum.toLowerCase()}`;
        const value = trailers.find(([n]) => n === name)?.[1];
        if (value === undefined || !isValidChecksumValue(e.trailerChecksum, value)) {
          throw new S3AuthError('InvalidRequest', `Value for ${name} trailing header is invalid.`);
        }
        checksum = { algorithm: e.trailerChecksum, value };
      }
      if (checksum && sums.get(checksum.algorithm)!.digestBase64() !== checksum.value) {
        throw badDigest(checksum.algorithm);
      }
      const computedAlgorithm = this.options.computeChecksum;
      const result: BodyVerification = { decodedLength: length, trailers };
      if (checksum) result.checksum = checksum;
      if (computedAlgorithm) {
        result.computed = {
          algorithm: computedAlgorithm,
          value:
            checksum?.algorithm === computedAlgorithm
              ? checksum.value
              : sums.get(computedAlgorithm)!.digestBase64(),
        };
      }
      finished = true;
      this.resolve(result);
      return undefined;
    } catch (error) {
      this.reject(error);
      throw error;
    } finally {
      if (!finished) {
        this.reject(new S3AuthError('IncompleteBody', 'The request body was not read to its end.'));
        await decoded?.return(undefined).catch(() => undefined); // lets the source stream clean up
      }
    }
  }

  /** The payload length the request declared (x-amz-decoded-content-length, else Content-Length). */
  get decodedLength(): number | undefined {
    return this.expect.chunked ? this.expect.chunked.decodedContentLength : this.expect.contentLength;
  }

  /** This body itself, for callers that want `{ body, verified() }`. */
  get body(): AsyncIterable<Buffer> {
    return this;
  }

  /** Resolves once the whole body was read and verified; rejects with the verification error. */
  async verified(): Promise<void> {
    await this.result;
  }

  /** Reads the whole body into memory (small bodies only: XML requests, tests). */
  async toBuffer(limit = 16 * 1024 * 1024): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const part of this) {
      total += part.length;
      if (total > limit) throw new S3AuthError('InvalidRequest', `Request body larger than ${limit} bytes.`);
      parts.push(part);
    }
    return Buffer.concat(parts);
  }
}

/**
 * Wraps a raw request body (as read from the socket) so that iterating it yields the verified payload.
 * Header problems (malformed checksum headers, missing x-amz-decoded-content-length…) throw here, at once.
 */
export function decodeBody(
  req: RequestLike,
  verified: VerifiedRequest | { auth: VerifiedRequest },
  body: AsyncIterable<Uint8Array>,
  options: DecodeBodyOptions = {},
): VerifiedBody {
  const auth = 'auth' in verified ? verified.auth : verified;
  return new VerifiedBody(body, expectationsOf(req, auth), options);
}
