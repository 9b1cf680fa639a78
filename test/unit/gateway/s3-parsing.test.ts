import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bucketNameProblem, assertValidBucketName } from '../../../gateway/s3/bucket-name.ts';
import { parseRangeHeader, resolveRange, contentRangeHeader } from '../../../gateway/s3/range.ts';
import { checkConditions, etagMatches, NotModified } from '../../../gateway/s3/conditionals.ts';
import { metadataFromHeaders, parseContentMd5, objectResponseHeaders } from '../../../gateway/s3/headers.ts';
import {
  decodeContinuationToken,
  encodeContinuationToken,
  parseListV2Params,
  parseMaxKeys,
  s3UrlEncode,
} from '../../../gateway/s3/list-params.ts';
import { S3Error } from '../../../gateway/errors.ts';

function s3Code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof S3Error, `expected S3Error, got ${String(error)}`);
    return error.code;
  }
  return 'no error';
}

describe('bucket names', () => {
  it('accepts valid names', () => {
    for (const name of ['abc', 'my-bucket', 'my.bucket.name', 'a1b2c3', 'x'.repeat(63), '1bucket'])
      assert.equal(bucketNameProblem(name), undefined, name);
  });
  it('rejects every rule violation with InvalidBucketName', () => {
    const bad = [
      'ab',
      'x'.repeat(64),
      'Upper',
      'under_score',
      '_health',
      '.dot-start',
      'dot-end.',
      '-dash',
      'dash-',
      'a..b',
      'a.-b',
      'a-.b',
      '10.0.0.1',
      'xn--punycode',
      'sthree-x',
      'name-s3alias',
      'name--ol-s3',
      'with space',
      'slash/name',
    ];
    for (const name of bad) {
      assert.notEqual(bucketNameProblem(name), undefined, name);
      assert.equal(
        s3Code(() => assertValidBucketName(name)),
        'InvalidBucketName',
        name,
      );
    }
  });
});

describe('Range header', () => {
  it('parses the three forms and ignores what S3 ignores', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-9'), { kind: 'from', first: 0, last: 9 });
    assert.deepEqual(parseRangeHeader('bytes=10-'), { kind: 'from', first: 10 });
    assert.deepEqual(parseRangeHeader('bytes=-5'), { kind: 'suffix', length: 5 });
    assert.deepEqual(parseRangeHeader(' bytes = 1 - 2 '), { kind: 'from', first: 1, last: 2 });
    for (const ignored of [
      undefined,
      'bytes=',
      'bytes=-',
      'bytes=5-1',
      'items=0-1',
      'bytes=0-1,3-4',
      'bytes=a-b',
    ])
      assert.equal(parseRangeHeader(ignored), undefined, String(ignored));
  });
  it('resolves against the size, clamping the end', () => {
    assert.deepEqual(resolveRange({ kind: 'from', first: 0, last: 9 }, 100), { start: 0, end: 9 });
    assert.deepEqual(resolveRange({ kind: 'from', first: 90, last: 500 }, 100), { start: 90, end: 99 });
    assert.deepEqual(resolveRange({ kind: 'from', first: 99 }, 100), { start: 99, end: 99 });
    assert.deepEqual(resolveRange({ kind: 'suffix', length: 10 }, 100), { start: 90, end: 99 });
    assert.deepEqual(resolveRange({ kind: 'suffix', length: 1000 }, 100), { start: 0, end: 99 });
    assert.equal(contentRangeHeader({ start: 90, end: 99 }, 100), 'bytes 90-99/100');
  });
  it('is InvalidRange (416) when no byte is selected', () => {
    for (const [spec, size] of [
      [{ kind: 'from', first: 100 }, 100],
      [{ kind: 'from', first: 0, last: 0 }, 0],
      [{ kind: 'suffix', length: 0 }, 100],
      [{ kind: 'suffix', length: 5 }, 0],
    ] as const) {
      try {
        resolveRange(spec, size);
        assert.fail('expected InvalidRange');
      } catch (error) {
        assert.ok(error instanceof S3Error);
        assert.equal(error.code, 'InvalidRange');
        assert.equal(error.status, 416);
        assert.equal(error.headers['content-range'], `bytes */${size}`);
      }
    }
  });
});

describe('conditional headers', () => {
  const etag = '"0123456789abcdef0123456789abcdef"';
  const modified = new Date('2026-11-26T10:00:00.500Z');
  const before = 'Thu, 26 Nov 2026 09:00:00 GMT';
  const same = 'Thu, 26 Nov 2026 10:00:00 GMT';
  const later = 'Thu, 26 Nov 2026 11:00:00 GMT';
  const outcome = (headers: Parameters<typeof checkConditions>[0]): string => {
    try {
      checkConditions(headers, etag, modified);
      return '200';
    } catch (error) {
      if (error instanceof NotModified) return '304';
      if (error instanceof S3Error && error.code === 'PreconditionFailed') return '412';
      throw error;
    }
  };
  it('matches entity tags with and without quotes, lists, weak tags and *', () => {
    assert.ok(etagMatches(etag, etag));
    assert.ok(etagMatches('0123456789abcdef0123456789abcdef', etag));
    assert.ok(etagMatches('"x", W/"0123456789abcdef0123456789abcdef"', etag));
    assert.ok(etagMatches('*', etag));
    assert.ok(!etagMatches('"other"', etag));
  });
  it('applies each header alone', () => {
    assert.equal(outcome({}), '200');
    assert.equal(outcome({ ifMatch: etag }), '200');
    assert.equal(outcome({ ifMatch: '"other"' }), '412');
    assert.equal(outcome({ ifNoneMatch: etag }), '304');
    assert.throws(
      () => checkConditions({ ifNoneMatch: etag }, etag, modified),
      (error: unknown) => error instanceof NotModified && error.headers.etag === etag,
    );
    assert.equal(outcome({ ifNoneMatch: '"other"' }), '200');
    assert.equal(outcome({ ifModifiedSince: before }), '200');
    assert.equal(outcome({ ifModifiedSince: same }), '304');
    assert.equal(outcome({ ifModifiedSince: later }), '304');
    assert.equal(outcome({ ifUnmodifiedSince: before }), '412');
    assert.equal(outcome({ ifUnmodifiedSince: same }), '200');
    assert.equal(outcome({ ifUnmodifiedSince: 'not a date' }), '200');
  });
  it('follows S3 precedence when headers are combined', () => {
    assert.equal(outcome({ ifMatch: etag, ifUnmodifiedSince: before }), '200');
    assert.equal(outcome({ ifNoneMatch: etag, ifModifiedSince: before }), '304');
    assert.equal(outcome({ ifNoneMatch: '"other"', ifModifiedSince: later }), '200');
    assert.equal(outcome({ ifMatch: '"other"', ifNoneMatch: etag }), '412');
    assert.equal(outcome({ ifUnmodifiedSince: before, ifModifiedSince: later }), '412');
  });
});

describe('request headers → metadata', () => {
  it('collects content type, standard headers and x-amz-meta-*', () => {
    const metadata = metadataFromHeaders({
      'content-type': 'text/plain',
      'cache-control': 'no-cache',
      'content-encoding': 'aws-chunked, gzip',
      'x-amz-meta-colour': 'blue',
      'x-amz-meta-empty': '',
      authorization: 'ignored',
    });
    assert.deepEqual(metadata, {
      contentType: 'text/plain',
      cacheControl: 'no-cache',
      contentEncoding: 'gzip',
      userMetadata: { colour: 'blue', empty: '' },
    });
    assert.equal(metadataFromHeaders({}).contentType, 'binary/octet-stream');
    assert.equal(metadataFromHeaders({ 'content-encoding': 'aws-chunked' }).contentEncoding, undefined);
  });
  it('refuses more than 2 KB of user metadata', () => {
    assert.equal(
      s3Code(() => metadataFromHeaders({ 'x-amz-meta-big': 'x'.repeat(2100) })),
      'MetadataTooLarge',
    );
  });
  it('decodes Content-MD5 and rejects malformed values with InvalidDigest', () => {
    assert.equal(parseContentMd5(undefined), undefined);
    assert.equal(
      parseContentMd5('1B2M2Y8AsgTpgAmY7PhCfg==')?.toString('hex'),
      'd41d8cd98f00b204e9800998ecf8427e',
    );
    for (const bad of ['', 'abc', '1B2M2Y8AsgTpgAmY7PhCfg', 'not base64 at all!!!!!!=='])
      assert.equal(
        s3Code(() => parseContentMd5(bad)),
        'InvalidDigest',
        bad,
      );
  });
  it('renders response headers for an object', () => {
    const headers = objectResponseHeaders({
      key: 'k',
      size: 3,
      etag: '"e"',
      lastModified: new Date('2026-11-26T10:00:00Z'),
      contentType: 'text/plain',
      userMetadata: { a: 'b' },
      contentLanguage: 'en',
    });
    assert.equal(headers['last-modified'], 'Thu, 26 Nov 2026 10:00:00 GMT');
    assert.equal(headers['x-amz-meta-a'], 'b');
    assert.equal(headers['content-language'], 'en');
    assert.equal(headers['accept-ranges'], 'bytes');
  });
});

describe('ListObjects parameters', () => {
  it('parses ListObjectsV2 parameters with defaults', () => {
    const params = parseListV2Params({ 'list-type': '2' });
    assert.deepEqual(params, {
      prefix: '',
      delimiter: '',
      maxKeys: 1000,
      startAfter: '',
      after: '',
      fetchOwner: false,
      encodeUrl: false,
    });
    const token = encodeContinuationToken('photos/2026/');
    const resumed = parseListV2Params({
      'continuation-token': token,
      'start-after': 'a',
      'max-keys': '5000',
    });
    assert.equal(resumed.after, 'photos/2026/');
    assert.equal(resumed.maxKeys, 1000);
    assert.equal(resumed.continuationToken, token);
  });
  it('round-trips continuation tokens for any key and rejects forged ones', () => {
    for (const key of ['', 'a', 'ünï/😀', 'x'.repeat(1024)])
      assert.equal(decodeContinuationToken(encodeContinuationToken(key)), key);
    for (const bad of ['garbage!', 'Zm9v', ''])
      assert.equal(
        s3Code(() => parseListV2Params({ 'continuation-token': bad })),
        'InvalidArgument',
        bad,
      );
  });
  it('validates max-keys and encoding-type', () => {
    assert.equal(parseMaxKeys('0'), 0);
    assert.equal(parseMaxKeys('17'), 17);
    for (const bad of ['-1', '1.5', 'ten'])
      assert.equal(
        s3Code(() => parseMaxKeys(bad)),
        'InvalidArgument',
        bad,
      );
    assert.equal(parseListV2Params({ 'encoding-type': 'url' }).encodeUrl, true);
    assert.equal(
      s3Code(() => parseListV2Params({ 'encoding-type': 'base64' })),
      'InvalidArgument',
    );
  });
  it('url-encodes like S3 (slashes kept, everything else reserved escaped)', () => {
    assert.equal(
      s3Code(() => s3UrlEncode('x')),
      'no error',
    );
    assert.equal(s3UrlEncode("a b+c/d(e)!'*~"), 'a%20b%2Bc/d%28e%29%21%27%2A~');
    assert.equal(decodeURIComponent(s3UrlEncode('ünï/😀?&')), 'ünï/😀?&');
  });
});
