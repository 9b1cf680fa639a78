// CompleteMultipartUpload rules, part ranges, the XML of multipart and copy, and their parameters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  MIN_PART_SIZE,
  multipartEtag,
  normalizeEtag,
  partByteRange,
  planCompletion,
} from '../../../gateway/s3/multipart-complete.ts';
import type { StoredPart } from '../../../gateway/s3/multipart-complete.ts';
import {
  completeMultipartUploadXml,
  copyResultXml,
  initiateMultipartUploadXml,
  listMultipartUploadsXml,
  listPartsXml,
  parseCompleteMultipartUpload,
} from '../../../gateway/s3/multipart-xml.ts';
import {
  checkCopySourceConditions,
  parseCopySource,
  parseCopySourceRange,
  parseListPartsParams,
  parseListUploadsParams,
  parseMetadataDirective,
  parsePartNumber,
} from '../../../gateway/s3/multipart-params.ts';
import { resolveRequest } from '../../../gateway/s3/route.ts';
import type { ObjectInfo } from '../../../gateway/backend/types.ts';
import { s3ErrorCode as code } from '../../support/s3-errors.ts';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function stored(...sizes: number[]): Map<number, StoredPart> {
  return new Map(sizes.map((size, i) => [i + 1, { partNumber: i + 1, size, md5: md5(`part ${i + 1}`) }]));
}

describe('planCompletion', () => {
  const parts = stored(MIN_PART_SIZE, MIN_PART_SIZE, 1, 7);
  const req = (...numbers: number[]): { partNumber: number; etag: string }[] =>
    numbers.map((n) => ({ partNumber: n, etag: `"${md5(`part ${n}`)}"` }));

  it('builds the object from the listed parts; the ETag is the MD5 of the part MD5s, -N', () => {
    const plan = planCompletion(req(1, 2, 3), parts);
    assert.deepEqual(
      plan.parts.map((p) => p.partNumber),
      [1, 2, 3],
    );
    assert.deepEqual(
      plan.unused.map((p) => p.partNumber),
      [4],
    );
    assert.equal(plan.size, 2 * MIN_PART_SIZE + 1);
    const expected = createHash('md5')
      .update(Buffer.concat([1, 2, 3].map((n) => Buffer.from(md5(`part ${n}`), 'hex'))))
      .digest('hex');
    assert.equal(plan.etag, `${expected}-3`);
    assert.equal(multipartEtag([md5('part 1'), md5('part 2'), md5('part 3')]), `${expected}-3`);
  });

  it('accepts ETags with or without quotes, in any case, and a small last part', () => {
    assert.equal(normalizeEtag('"ABCDEF"'), 'abcdef');
    assert.equal(normalizeEtag('&quot;abc&quot;'), 'abc');
    const plan = planCompletion([{ partNumber: 4, etag: md5('part 4').toUpperCase() }], parts);
    assert.equal(plan.size, 7);
  });

  it('refuses empty, unordered, unknown, mismatched and too-small parts', () => {
    assert.equal(
      code(() => planCompletion([], parts)),
      'MalformedXML',
    );
    assert.equal(
      code(() => planCompletion(req(2, 1), parts)),
      'InvalidPartOrder',
    );
    assert.equal(
      code(() => planCompletion(req(1, 1), parts)),
      'InvalidPartOrder',
    );
    assert.equal(
      code(() => planCompletion(req(1, 9), parts)),
      'InvalidPart',
    );
    assert.equal(
      code(() => planCompletion([{ partNumber: 1, etag: md5('part 2') }], parts)),
      'InvalidPart',
    );
    assert.equal(
      code(() => planCompletion(req(3, 4), parts)),
      'EntityTooSmall',
    );
    assert.equal(
      code(() => planCompletion(req(1, 3, 4), parts)),
      'EntityTooSmall',
    );
  });

  it('maps part numbers to byte ranges', () => {
    assert.deepEqual(partByteRange([5, 3, 2], 1), { start: 0, end: 4 });
    assert.deepEqual(partByteRange([5, 3, 2], 3), { start: 8, end: 9 });
    assert.equal(partByteRange([5, 3, 2], 4), undefined);
    assert.equal(partByteRange([5], 0), undefined);
  });
});

describe('multipart XML', () => {
  it('parses CompleteMultipartUpload with one or many parts', () => {
    assert.deepEqual(
      parseCompleteMultipartUpload(
        '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part></CompleteMultipartUpload>',
      ),
      [{ partNumber: 1, etag: '"aa"' }],
    );
    assert.deepEqual(
      parseCompleteMultipartUpload(
        '<CompleteMultipartUpload><Part><ETag>"a"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>x</ChecksumCRC32></Part><Part><PartNumber>5</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>',
      ),
      [
        { partNumber: 2, etag: '"a"' },
        { partNumber: 5, etag: 'b' },
      ],
    );
    assert.deepEqual(parseCompleteMultipartUpload('<CompleteMultipartUpload/>'), []);
    for (const bad of [
      '',
      '<Other/>',
      '<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part>',
    ])
      assert.equal(
        code(() => parseCompleteMultipartUpload(bad)),
        'MalformedXML',
        bad,
      );
  });

  it('renders the result documents', () => {
    assert.match(
      initiateMultipartUploadXml({ bucket: 'b', key: 'k&1', uploadId: 'u' }),
      /<InitiateMultipartUploadResult xmlns="[^"]+"><Bucket>b<\/Bucket><Key>k&amp;1<\/Key><UploadId>u<\/UploadId>/,
    );
    assert.match(
      completeMultipartUploadXml({ location: 'http://h/b/k', bucket: 'b', key: 'k', etag: '"e-2"' }),
      /<Location>http:\/\/h\/b\/k<\/Location><Bucket>b<\/Bucket><Key>k<\/Key><ETag>&quot;e-2&quot;<\/ETag>/,
    );
    const lastModified = new Date('2026-11-26T00:00:00Z');
    const parts = listPartsXml({
      bucket: 'b',
      key: 'k',
      uploadId: 'u',
      owner: '111',
      partNumberMarker: 0,
      nextPartNumberMarker: 2,
      maxParts: 2,
      isTruncated: true,
      parts: [{ partNumber: 2, size: 10, etag: '"x"', lastModified }],
    });
    assert.match(
      parts,
      /<PartNumberMarker>0<\/PartNumberMarker><NextPartNumberMarker>2<\/NextPartNumberMarker><MaxParts>2<\/MaxParts><IsTruncated>true<\/IsTruncated>/,
    );
    assert.match(
      parts,
      /<Part><PartNumber>2<\/PartNumber><LastModified>2026-11-26T00:00:00.000Z<\/LastModified><ETag>&quot;x&quot;<\/ETag><Size>10<\/Size><\/Part>/,
    );
    const uploads = listMultipartUploadsXml({
      bucket: 'b',
      prefix: 'a b/',
      delimiter: '/',
      keyMarker: '',
      uploadIdMarker: '',
      nextKeyMarker: 'a b/c',
      nextUploadIdMarker: 'u2',
      maxUploads: 1,
      encodeUrl: true,
      isTruncated: true,
      uploads: [
        {
          bucket: 'b',
          key: 'a b/c',
          uploadId: 'u2',
          initiated: lastModified,
          owner: '111',
          metadata: { contentType: 'x', userMetadata: {} },
        },
      ],
      commonPrefixes: ['a b/d/'],
    });
    assert.match(
      uploads,
      /<NextKeyMarker>a%20b\/c<\/NextKeyMarker><NextUploadIdMarker>u2<\/NextUploadIdMarker><EncodingType>url<\/EncodingType>/,
    );
    assert.match(uploads, /<Upload><Key>a%20b\/c<\/Key><UploadId>u2<\/UploadId><Initiator><ID>111<\/ID>/);
    assert.match(uploads, /<CommonPrefixes><Prefix>a%20b\/d\/<\/Prefix><\/CommonPrefixes>/);
    assert.match(
      copyResultXml('CopyPartResult', { etag: '"e"', lastModified }),
      /<CopyPartResult xmlns="[^"]+"><LastModified>2026-11-26T00:00:00.000Z<\/LastModified><ETag>&quot;e&quot;<\/ETag><\/CopyPartResult>/,
    );
  });
});

describe('multipart and copy parameters', () => {
  it('parses part numbers 1..10000', () => {
    assert.equal(parsePartNumber('1'), 1);
    assert.equal(parsePartNumber('10000'), 10000);
    for (const bad of [undefined, '0', '10001', '-1', '1.5', 'x', ''])
      assert.equal(
        code(() => parsePartNumber(bad)),
        'InvalidArgument',
        String(bad),
      );
  });

  it('parses ListParts and ListMultipartUploads paging (capped at 1000)', () => {
    assert.deepEqual(parseListPartsParams({}), { partNumberMarker: 0, maxParts: 1000 });
    assert.deepEqual(parseListPartsParams({ 'max-parts': '5000', 'part-number-marker': '7' }), {
      partNumberMarker: 7,
      maxParts: 1000,
    });
    assert.equal(
      code(() => parseListPartsParams({ 'max-parts': 'x' })),
      'InvalidArgument',
    );
    assert.deepEqual(parseListUploadsParams({ 'upload-id-marker': 'u', 'max-uploads': '3' }), {
      prefix: '',
      delimiter: '',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: 3,
      encodeUrl: false,
    });
    assert.equal(parseListUploadsParams({ 'key-marker': 'k', 'upload-id-marker': 'u' }).uploadIdMarker, 'u');
    assert.equal(
      code(() => parseListUploadsParams({ 'encoding-type': 'x' })),
      'InvalidArgument',
    );
  });

  it('parses x-amz-copy-source: leading slash, URL-encoding, versionId=null only', () => {
    assert.deepEqual(parseCopySource('b/k'), { bucket: 'b', key: 'k' });
    assert.deepEqual(parseCopySource('/b/dir/a%20b%2Bc%3F.txt'), { bucket: 'b', key: 'dir/a b+c?.txt' });
    assert.deepEqual(parseCopySource('b/%C3%BC?versionId=null'), { bucket: 'b', key: 'ü' });
    for (const bad of ['', 'b', 'b/', '/k', 'b/k?versionId=abc', 'b/k?other=1', 'b/%E0%A4%A'])
      assert.equal(
        code(() => parseCopySource(bad)),
        'InvalidArgument',
        bad,
      );
  });

  it('parses x-amz-copy-source-range inside the source', () => {
    assert.deepEqual(parseCopySourceRange('bytes=0-9', 10), { start: 0, end: 9 });
    assert.deepEqual(parseCopySourceRange('bytes=5-5', 10), { start: 5, end: 5 });
    for (const bad of ['bytes=0-10', 'bytes=5-4', 'bytes=-5', 'bytes=3-', '0-1', 'bytes=0-1,3-4'])
      assert.equal(
        code(() => parseCopySourceRange(bad, 10)),
        'InvalidArgument',
        bad,
      );
  });

  it('checks copy-source conditions with 412 where GET would say 304', () => {
    const info = {
      etag: '"abc"',
      lastModified: new Date('2026-01-01T00:00:00Z'),
    } as ObjectInfo;
    checkCopySourceConditions({ ifMatch: '"abc"', ifUnmodifiedSince: 'Thu, 01 Jan 2025 00:00:00 GMT' }, info);
    assert.equal(
      code(() => checkCopySourceConditions({ ifMatch: '"x"' }, info)),
      'PreconditionFailed',
    );
    assert.equal(
      code(() => checkCopySourceConditions({ ifNoneMatch: '"abc"' }, info)),
      'PreconditionFailed',
    );
    assert.equal(
      code(() => checkCopySourceConditions({ ifModifiedSince: 'Fri, 01 Jan 2027 00:00:00 GMT' }, info)),
      'PreconditionFailed',
    );
    assert.equal(parseMetadataDirective(undefined), 'COPY');
    assert.equal(parseMetadataDirective('REPLACE'), 'REPLACE');
    assert.equal(
      code(() => parseMetadataDirective('copy')),
      'InvalidArgument',
    );
  });

  it('routes multipart and copy requests', () => {
    const route = (method: string, url: string, headers: Record<string, string> = {}): string => {
      const q = url.indexOf('?');
      return resolveRequest({
        method,
        rawPath: q < 0 ? url : url.slice(0, q),
        rawQuery: q < 0 ? '' : url.slice(q + 1),
        headers,
      }).operation;
    };
    assert.equal(route('POST', '/b/k?uploads'), 'CreateMultipartUpload');
    assert.equal(route('PUT', '/b/k?partNumber=1&uploadId=u'), 'UploadPart');
    assert.equal(
      route('PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'b/s' }),
      'UploadPartCopy',
    );
    assert.equal(route('POST', '/b/k?uploadId=u'), 'CompleteMultipartUpload');
    assert.equal(route('DELETE', '/b/k?uploadId=u'), 'AbortMultipartUpload');
    assert.equal(route('GET', '/b/k?uploadId=u'), 'ListParts');
    assert.equal(route('GET', '/b?uploads'), 'ListMultipartUploads');
    assert.equal(route('PUT', '/b/k', { 'x-amz-copy-source': 'b/s' }), 'CopyObject');
    assert.equal(route('GET', '/b/k?partNumber=2'), 'GetObject');
    assert.equal(route('HEAD', '/b/k?partNumber=2'), 'HeadObject');
    assert.throws(() => route('PUT', '/b/k?partNumber=2'), { code: 'InvalidRequest' });
    assert.throws(() => route('GET', '/b/k?uploads'), { code: 'MethodNotAllowed' });
    // Tags go with CreateMultipartUpload and CopyObject; a part has none.
    assert.equal(route('POST', '/b/k?uploads', { 'x-amz-tagging': 'a=1' }), 'CreateMultipartUpload');
    assert.equal(route('PUT', '/b/k', { 'x-amz-copy-source': 'b/s', 'x-amz-tagging': 'a=1' }), 'CopyObject');
    assert.throws(() => route('PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-tagging': 'a=1' }), {
      code: 'NotImplemented',
    });
  });
});
