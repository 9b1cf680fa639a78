// Additional checksums in the S3 protocol (pure): the headers a stored checksum is returned with,
// x-amz-checksum-mode, and the "Content-MD5 or a checksum is required" rule of some operations.
import type { ChecksumAlgorithm, StoredChecksum } from '../backend/types.ts';
import { InvalidRequest } from '../errors.ts';
import { headerValue } from './headers.ts';
import type { HeaderBag } from './headers.ts';

const ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

export function checksumHeaderOf(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** True when the request sent `x-amz-checksum-mode: ENABLED`. */
export function checksumModeEnabled(headers: HeaderBag): boolean {
  return headerValue(headers, 'x-amz-checksum-mode')?.trim().toUpperCase() === 'ENABLED';
}

/** The headers a stored checksum is returned with (GET/HEAD with checksum mode, PUT response). */
export function checksumResponseHeaders(checksum: StoredChecksum | undefined): Record<string, string> {
  if (checksum === undefined) return {};
  return {
    [checksumHeaderOf(checksum.algorithm)]: checksum.value,
    'x-amz-checksum-type': checksum.type ?? 'FULL_OBJECT',
  };
}

/**
 * GET/HEAD: the stored checksum is the whole object's, so S3 returns it only when the whole object
 * is served (no Range) and the client asked for it.
 */
export function checksumHeadersForRead(
  headers: HeaderBag,
  checksum: StoredChecksum | undefined,
  wholeObject: boolean,
): Record<string, string> {
  if (!wholeObject || !checksumModeEnabled(headers)) return {};
  return checksumResponseHeaders(checksum);
}

/** Whether the request carries an integrity check of its body: Content-MD5, x-amz-checksum-* or a checksum trailer. */
export function hasBodyIntegrity(headers: HeaderBag): boolean {
  if (headerValue(headers, 'content-md5') !== undefined) return true;
  if (ALGORITHMS.some((a) => headerValue(headers, checksumHeaderOf(a)) !== undefined)) return true;
  const trailer = headerValue(headers, 'x-amz-trailer') ?? '';
  return trailer
    .split(',')
    .some((name) => ALGORITHMS.some((a) => name.trim().toLowerCase() === checksumHeaderOf(a)));
}

/**
 * DeleteObjects and PutBucketCors require Content-MD5 or an x-amz-checksum-* of the body, as S3
 * documents (the SDKs always send one). Other XML requests have theirs verified when sent.
 */
export function requireBodyIntegrity(headers: HeaderBag): void {
  if (!hasBodyIntegrity(headers))
    throw InvalidRequest(
      'Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header)',
    );
}
