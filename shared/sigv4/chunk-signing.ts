// String-to-sign and framing for aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
import { EMPTY_SHA256, sha256Hex } from './canonical.ts';
import { signString } from './keys.ts';

export const CHUNK_ALGORITHM = 'AWS4-HMAC-SHA256-PAYLOAD';
export const TRAILER_ALGORITHM = 'AWS4-HMAC-SHA256-TRAILER';

/** What chunk signatures chain from: the request's signing key, date, scope and seed (request) signature. */
export interface ChunkSigningContext {
  signingKey: Uint8Array;
  amzDate: string;
  credentialScope: string;
  seedSignature: string;
}

export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return `${CHUNK_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** Canonical form of trailing headers for the trailer signature: `name:value\n` each, names lower-cased. */
export function canonicalTrailers(trailers: ReadonlyArray<readonly [string, string]>): string {
  return trailers.map(([name, value]) => `${name.toLowerCase()}:${value.trim()}\n`).join('');
}

export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  canonical: string,
): string {
  return `${TRAILER_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonical)}`;
}

export function chunkSignature(
  ctx: ChunkSigningContext,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return signString(
    ctx.signingKey,
    chunkStringToSign(ctx.amzDate, ctx.credentialScope, previousSignature, chunkSha256Hex),
  );
}

export function trailerSignature(
  ctx: ChunkSigningContext,
  previousSignature: string,
  canonical: string,
): string {
  return signString(
    ctx.signingKey,
    trailerStringToSign(ctx.amzDate, ctx.credentialScope, previousSignature, canonical),
  );
}

/**
 * Client-side encoder of a signed aws-chunked body. Call `chunk()` for each data chunk, then `finish()`.
 * Chunks other than the last must be at least 8 KiB for S3.
 */
export class AwsChunkedSigner {
  private previous: string;
  private readonly ctx: ChunkSigningContext;

  constructor(ctx: ChunkSigningContext) {
    this.ctx = ctx;
    this.previous = ctx.seedSignature;
  }

  chunk(data: Uint8Array): Buffer {
    const signature = chunkSignature(this.ctx, this.previous, sha256Hex(data));
    this.previous = signature;
    return Buffer.concat([
      Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`),
      data,
      Buffer.from('\r\n'),
    ]);
  }

  /** The final zero-length chunk, with signed trailers when given. */
  finish(trailers: ReadonlyArray<readonly [string, string]> = []): Buffer {
    const finalSignature = chunkSignature(this.ctx, this.previous, EMPTY_SHA256);
    this.previous = finalSignature;
    let text = `0;chunk-signature=${finalSignature}\r\n`;
    if (trailers.length > 0) {
      const signature = trailerSignature(this.ctx, finalSignature, canonicalTrailers(trailers));
      for (const [name, value] of trailers) text += `${name}:${value}\r\n`;
      text += `x-amz-trailer-signature:${signature}\r\n`;
    }
    return Buffer.from(text + '\r\n');
  }
}
