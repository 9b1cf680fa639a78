import { createRequire } from 'node:module';
import { ErasureError } from './errors.ts';
import { SEGMENT_ALIGNMENT, schemeName, validateScheme } from './scheme.ts';
import type { RsScheme } from './scheme.ts';
import type { StripeBuffers } from './stripe.ts';

/** The part of @ronomon/reed-solomon's native API we use (it ships no types). */
interface NativeReedSolomon {
  create(k: number, m: number): Buffer;
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    end: (error: Error | undefined) => void,
  ): void;
}

const native = createRequire(import.meta.url)('@ronomon/reed-solomon') as NativeReedSolomon;
const contexts = new Map<string, Buffer>();

/**
 * Reed-Solomon over one stripe at a time, in place. Work runs on the libuv thread pool, so the
 * event loop never blocks; one codec may run many stripes concurrently.
 */
export class ReedSolomonCodec {
  readonly scheme: RsScheme;
  private readonly context: Buffer;

  constructor(scheme: RsScheme) {
    this.scheme = validateScheme(scheme);
    const name = schemeName(scheme);
    let context = contexts.get(name);
    if (!context) {
      context = native.create(scheme.k, scheme.m);
      contexts.set(name, context);
    }
    this.context = context;
  }

  /** Computes the m parity segments of `stripe` from its k data segments of `segmentLength` bytes. */
  async encode(stripe: StripeBuffers, segmentLength: number): Promise<void> {
    const { k, m } = this.scheme;
    return this.run(stripe, segmentLength, mask(0, k), mask(k, k + m));
  }

  /**
   * Rebuilds missing segments in place. `present[i]` says whether segment i (0..k+m-1) holds valid
   * bytes; at least k must. Rebuilds the missing segments listed in `wanted` (default: all missing);
   * other missing parity segments may be overwritten too.
   */
  async reconstruct(
    stripe: StripeBuffers,
    segmentLength: number,
    present: readonly boolean[],
    wanted?: readonly number[],
  ): Promise<void> {
    const { k, m } = this.scheme;
    if (present.length !== k + m) {
      throw new ErasureError(
        'BAD_SEGMENT_INDEX',
        `present has ${present.length} entries, ${schemeName(this.scheme)} has ${k + m} segments`,
      );
    }
    let sources = 0;
    let missing = 0;
    present.forEach((isPresent, i) => {
      if (isPresent) sources |= 1 << i;
      else missing++;
    });
    if (missing > m) {
      throw new ErasureError(
        'TOO_MANY_MISSING',
        `${missing} of ${k + m} segments missing; ${schemeName(this.scheme)} rebuilds at most ${m}`,
      );
    }
    let targets = 0;
    for (const i of wanted ?? present.keys()) {
      if (!Number.isInteger(i) || i < 0 || i >= k + m)
        throw new ErasureError('BAD_SEGMENT_INDEX', `segment index ${i} is outside 0..${k + m - 1}`);
      if (!present[i]) targets |= 1 << i;
    }
    if (targets === 0) return;
    await this.run(stripe, segmentLength, sources, targets);
  }

  private async run(
    stripe: StripeBuffers,
    segmentLength: number,
    sources: number,
    targets: number,
  ): Promise<void> {
    const { k, m } = this.scheme;
    if (!Number.isInteger(segmentLength) || segmentLength <= 0 || segmentLength % SEGMENT_ALIGNMENT !== 0) {
      throw new ErasureError(
        'BAD_SEGMENT_LENGTH',
        `segment length must be a positive multiple of ${SEGMENT_ALIGNMENT}, got ${segmentLength}`,
      );
    }
    if (stripe.data.length < k * segmentLength || stripe.parity.length < m * segmentLength) {
      throw new ErasureError(
        'BUFFER_TOO_SMALL',
        `stripe buffers too small for ${schemeName(this.scheme)} segments of ${segmentLength} bytes`,
      );
    }
    return new Promise((resolve, reject) => {
      native.encode(
        this.context,
        sources,
        targets,
        stripe.data,
        0,
        k * segmentLength,
        stripe.parity,
        0,
        m * segmentLength,
        (error) => {
          if (error)
            reject(
              new ErasureError('CODEC_FAILED', `reed-solomon failed: ${error.message}`, { cause: error }),
            );
          else resolve();
        },
      );
    });
  }
}

function mask(from: number, to: number): number {
  let bits = 0;
  for (let i = from; i < to; i++) bits |= 1 << i;
  return bits;
}
