/** Wire status codes carried in RESPONSE and ERROR frames. */
export const Status = {
  OK: 0,
  NOT_FOUND: 1,
  CORRUPT: 2,
  BAD_REQUEST: 3,
  DISK_FULL: 4,
  DEADLINE_EXCEEDED: 5,
  BUSY: 6,
  INTERNAL: 7,
  UNSUPPORTED_VERSION: 8,
  CANCELLED: 9,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const STATUS_NAMES = new Map<number, string>(Object.entries(Status).map(([name, code]) => [code, name]));

export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `UNKNOWN(${code})`;
}

export function isStatusCode(code: number): code is StatusCode {
  return STATUS_NAMES.has(code);
}

/** Bytes on a stream that do not form a valid frame or message. Fatal for that stream only. */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL';
  constructor(
    message: string,
    /** True when the bytes ended before a frame was complete. */
    readonly truncated = false,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
