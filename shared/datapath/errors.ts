export type DataPathErrorCode =
  | 'BAD_GEOMETRY'
  | 'BAD_SIZE'
  | 'BAD_RANGE'
  | 'BAD_BODY'
  | 'BODY_TOO_SHORT'
  | 'BODY_TOO_LONG'
  | 'BAD_OPTIONS'
  | 'NOT_FINISHED'
  | 'TOO_FEW_SEGMENTS';

/** Invalid input to the data path's pure logic (sizes, ranges, request bodies, stripes). */
export class DataPathError extends Error {
  readonly code: DataPathErrorCode;
  constructor(code: DataPathErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataPathError';
    this.code = code;
  }
}
