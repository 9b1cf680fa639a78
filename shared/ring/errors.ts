export type RingErrorCode =
  'NO_NODES' | 'DUPLICATE_NODE' | 'BAD_NODE_ID' | 'BAD_VNODES' | 'BAD_EPOCH' | 'TOO_FEW_NODES' | 'BAD_COUNT';

/** A ring that cannot be built, or a placement the ring cannot satisfy. */
export class RingError extends Error {
  readonly code: RingErrorCode;
  constructor(code: RingErrorCode, message: string) {
    super(message);
    this.name = 'RingError';
    this.code = code;
  }
}
