// The S3 error code a synchronous call throws ('no error' when it returns), for unit tests of the
// gateway's pure parsers and validators.
import assert from 'node:assert/strict';
import { S3Error } from '../../gateway/errors.ts';

export function s3ErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof S3Error, String(error));
    return error.code;
  }
  return 'no error';
}
