import { isIP } from 'node:net';

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * Checks a bucket name against the S3 general purpose bucket naming rules.
 * Returns what is wrong with it, or null when it is valid.
 */
export function bucketNameProblem(name: string): string | null {
  if (name.length < 3 || name.length > 63) return `bucket name "${name}" must be 3 to 63 characters long`;
  if (!/^[a-z0-9.-]+$/.test(name))
    return `bucket name "${name}" may contain only lowercase letters, digits, dots and hyphens`;
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return `bucket name "${name}" must begin and end with a letter or digit`;
  if (name.includes('..')) return `bucket name "${name}" must not contain two adjacent dots`;
  if (isIP(name) === 4) return `bucket name "${name}" must not be formatted as an IP address`;
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined)
    return `bucket name "${name}" must not start with the reserved prefix "${prefix}"`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) return `bucket name "${name}" must not end with the reserved suffix "${suffix}"`;
  return null;
}
