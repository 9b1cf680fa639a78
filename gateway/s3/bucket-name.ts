// S3 general-purpose bucket naming rules
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
import { InvalidBucketName } from '../errors.ts';

const IPV4_LIKE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Returns why `name` is not a valid bucket name, or undefined when it is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'bucket names must be between 3 and 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name))
    return 'bucket names can consist only of lowercase letters, numbers, dots (.), and hyphens (-)';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return 'bucket names must begin and end with a letter or number';
  if (name.includes('..')) return 'bucket names must not contain two adjacent periods';
  if (name.includes('.-') || name.includes('-.'))
    return 'bucket names must not contain a period next to a hyphen';
  if (IPV4_LIKE.test(name)) return 'bucket names must not be formatted as an IP address';
  for (const prefix of RESERVED_PREFIXES)
    if (name.startsWith(prefix)) return `bucket names must not start with the reserved prefix ${prefix}`;
  for (const suffix of RESERVED_SUFFIXES)
    if (name.endsWith(suffix)) return `bucket names must not end with the reserved suffix ${suffix}`;
  return undefined;
}

export function assertValidBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) throw InvalidBucketName(name, problem);
}
