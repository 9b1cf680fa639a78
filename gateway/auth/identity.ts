import type { VerifiedRequest } from '../../shared/sigv4/index.ts';
import type { PolicyStatement } from './credentials.ts';

/** Who made a request: an authenticated account, or anonymous (only when the caller allows it). */
export interface Identity {
  readonly anonymous: boolean;
  /** '' for anonymous. */
  readonly accessKeyId: string;
  /** '' for anonymous. */
  readonly accountId: string;
  readonly policy: readonly PolicyStatement[];
  /** The verified signature (seed for aws-chunked bodies); undefined for anonymous. */
  readonly auth?: VerifiedRequest;
}

export const ANONYMOUS: Identity = Object.freeze({
  anonymous: true,
  accessKeyId: '',
  accountId: '',
  policy: [],
});
