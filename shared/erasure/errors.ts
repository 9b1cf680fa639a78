export type ErasureErrorCode =
  | 'BAD_SCHEME'
  | 'BAD_SEGMENT_LENGTH'
  | 'BUFFER_TOO_SMALL'
  | 'TOO_MANY_MISSING'
  | 'BAD_SEGMENT_INDEX'
  | 'POOL_MISUSE'
  | 'ABORTED'
  | 'CODEC_FAILED';

/** Invalid erasure-coding input, or a stripe that cannot be reconstructed. */
export class ErasureError extends Error {
  readonly code: ErasureErrorCode;
  constructor(code: ErasureErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ErasureError';
    this.code = code;
  }
}
