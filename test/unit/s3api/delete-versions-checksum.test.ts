import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deleteResultXml, parseDeleteXml } from '../../../gateway/s3/delete-objects.ts';
import {
  checkVersionId,
  listVersionsXml,
  parseListVersionsParams,
  parseVersioningXml,
  versioningStateToStore,
  versioningXml,
} from '../../../gateway/s3/versions.ts';
import {
  checksumHeadersForRead,
  checksumResponseHeaders,
  hasBodyIntegrity,
  requireBodyIntegrity,
} from '../../../gateway/s3/checksum.ts';
import { resolveRequest } from '../../../gateway/s3/route.ts';
import type { ObjectInfo } from '../../../gateway/backend/types.ts';
import { s3ErrorCode as codeOf } from '../../support/s3-errors.ts';

const objects = (n: number): string =>
  Array.from({ length: n }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('');

describe('DeleteObjects documents', () => {
  it('parses keys exactly (spaces, entities), versions, Quiet, and the 1000-key limit', () => {
    const request = parseDeleteXml(
      `<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>
        <Object><Key> spaced </Key></Object>
        <Object><Key>a&amp;b&#xD;&lt;c</Key><VersionId>null</VersionId></Object>
        <Object><Key>cond</Key><ETag>"x"</ETag></Object></Delete>`,
    );
    assert.equal(request.quiet, true);
    assert.deepEqual(request.objects, [
      { key: ' spaced ' },
      { key: 'a&b\r<c', versionId: 'null' },
      { key: 'cond', conditional: true },
    ]);
    assert.equal(parseDeleteXml(`<Delete>${objects(1)}</Delete>`).quiet, false);
    assert.equal(parseDeleteXml(`<Delete>${objects(1000)}</Delete>`).objects.length, 1000);
    for (const bad of [
      `<Delete>${objects(1001)}</Delete>`,
      '<Delete></Delete>',
      '<Delete><Object></Object></Delete>',
      '<Delete><Object><Key></Key></Object></Delete>',
      `<Delete><Quiet>maybe</Quiet>${objects(1)}</Delete>`,
      '<Delete><Object><Key>k</Key></Object>',
      '',
      '<Other/>',
    ])
      assert.equal(
        codeOf(() => parseDeleteXml(bad)),
        'MalformedXML',
        bad.slice(0, 60),
      );
  });

  it('renders Deleted (not in quiet mode) and Error entries, escaped', () => {
    const result = {
      deleted: [{ key: 'a<b' }, { key: 'v', versionId: 'null' }],
      errors: [{ key: 'x&y', code: 'AccessDenied', message: 'Access Denied' }],
    };
    const verbose = deleteResultXml(result, false);
    assert.match(verbose, /<DeleteResult xmlns="[^"]+"><Deleted><Key>a&lt;b<\/Key><\/Deleted>/);
    assert.match(verbose, /<Deleted><Key>v<\/Key><VersionId>null<\/VersionId><\/Deleted>/);
    assert.match(
      verbose,
      /<Error><Key>x&amp;y<\/Key><Code>AccessDenied<\/Code><Message>Access Denied<\/Message><\/Error>/,
    );
    const quiet = deleteResultXml(result, true);
    assert.doesNotMatch(quiet, /<Deleted>/);
    assert.match(quiet, /<Error>/);
  });
});

describe('versions for a store with one (null) version per key', () => {
  it('resolves key-marker / version-id-marker and refuses bad combinations', () => {
    const p = parseListVersionsParams({
      'key-marker': 'k',
      'version-id-marker': 'null',
      'max-keys': '5',
      delimiter: '/',
    });
    assert.equal(p.after, 'k');
    assert.equal(p.maxKeys, 5);
    assert.equal(parseListVersionsParams({ 'key-marker': 'k' }).after, 'k');
    assert.equal(parseListVersionsParams({}).maxKeys, 1000);
    assert.equal(
      codeOf(() => parseListVersionsParams({ 'version-id-marker': 'null' })),
      'InvalidArgument',
    );
    assert.equal(
      codeOf(() => parseListVersionsParams({ 'key-marker': 'k', 'version-id-marker': 'abc' })),
      'InvalidArgument',
    );
    assert.equal(
      codeOf(() => parseListVersionsParams({ 'max-keys': 'x' })),
      'InvalidArgument',
    );
    assert.equal(
      codeOf(() => parseListVersionsParams({ 'encoding-type': 'base64' })),
      'InvalidArgument',
    );
  });

  it('renders ListVersionsResult: null versions, IsLatest, next markers only when truncated', () => {
    const info = (key: string): ObjectInfo => ({
      key,
      size: 3,
      etag: '"e"',
      lastModified: new Date(0),
      contentType: 'x',
      userMetadata: {},
    });
    const params = parseListVersionsParams({ delimiter: '/', 'encoding-type': 'url', 'max-keys': '2' });
    const byKey = listVersionsXml({
      bucket: 'b',
      params,
      owner: 'acct',
      isTruncated: true,
      versions: [info('a b')],
      commonPrefixes: ['d/'],
      nextKeyMarker: 'a b',
    });
    assert.match(
      byKey,
      /<NextKeyMarker>a%20b<\/NextKeyMarker><NextVersionIdMarker>null<\/NextVersionIdMarker>/,
    );
    assert.match(byKey, /<Version><Key>a%20b<\/Key><VersionId>null<\/VersionId><IsLatest>true<\/IsLatest>/);
    assert.match(byKey, /<Owner><ID>acct<\/ID>/);
    const byPrefix = listVersionsXml({
      bucket: 'b',
      params,
      owner: 'acct',
      isTruncated: true,
      versions: [info('a')],
      commonPrefixes: ['d/'],
      nextKeyMarker: 'd/',
    });
    assert.match(byPrefix, /<NextKeyMarker>d\/<\/NextKeyMarker>/);
    assert.doesNotMatch(byPrefix, /NextVersionIdMarker/);
    const done = listVersionsXml({
      bucket: 'b',
      params,
      owner: 'o',
      isTruncated: false,
      versions: [],
      commonPrefixes: [],
    });
    assert.doesNotMatch(done, /NextKeyMarker/);
  });

  it('versioning documents: empty, Suspended stored, Enabled and MFA delete NotImplemented', () => {
    assert.doesNotMatch(versioningXml(undefined), /Status/);
    assert.match(versioningXml('Suspended'), /<Status>Suspended<\/Status>/);
    assert.equal(
      versioningStateToStore(
        parseVersioningXml('<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>'),
      ),
      'Suspended',
    );
    assert.equal(versioningStateToStore(parseVersioningXml('<VersioningConfiguration/>')), undefined);
    assert.equal(
      codeOf(() =>
        versioningStateToStore(
          parseVersioningXml('<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'),
        ),
      ),
      'NotImplemented',
    );
    assert.equal(
      codeOf(() => versioningStateToStore({ status: 'Suspended', mfaDelete: 'Enabled' })),
      'NotImplemented',
    );
    assert.equal(
      codeOf(() =>
        parseVersioningXml('<VersioningConfiguration><Status>On</Status></VersioningConfiguration>'),
      ),
      'MalformedXML',
    );
  });

  it('versionId: null is the current object; anything else names no version', () => {
    checkVersionId({}, 'k');
    checkVersionId({ versionId: 'null' }, 'k');
    assert.equal(
      codeOf(() => checkVersionId({ versionId: 'abc' }, 'k')),
      'NoSuchVersion',
    );
    assert.equal(
      codeOf(() => checkVersionId({ versionId: '' }, 'k')),
      'InvalidArgument',
    );
  });
});

describe('checksum headers', () => {
  const sum = { algorithm: 'CRC32C' as const, value: 'AAAAAA==' };
  it('returns the stored checksum only for whole-object reads in checksum mode', () => {
    const enabled = { 'x-amz-checksum-mode': 'ENABLED' };
    assert.deepEqual(checksumHeadersForRead(enabled, sum, true), {
      'x-amz-checksum-crc32c': 'AAAAAA==',
      'x-amz-checksum-type': 'FULL_OBJECT',
    });
    assert.deepEqual(checksumHeadersForRead(enabled, sum, false), {});
    assert.deepEqual(checksumHeadersForRead({}, sum, true), {});
    assert.deepEqual(checksumHeadersForRead(enabled, undefined, true), {});
    assert.equal(checksumResponseHeaders({ ...sum, type: 'COMPOSITE' })['x-amz-checksum-type'], 'COMPOSITE');
  });

  it('knows which requests carry a body integrity check', () => {
    assert.ok(hasBodyIntegrity({ 'content-md5': 'x' }));
    assert.ok(hasBodyIntegrity({ 'x-amz-checksum-crc64nvme': 'x' }));
    assert.ok(hasBodyIntegrity({ 'x-amz-trailer': 'x-amz-checksum-sha256' }));
    assert.ok(!hasBodyIntegrity({ 'x-amz-trailer': 'x-amz-meta-a' }));
    assert.ok(!hasBodyIntegrity({ 'x-amz-sdk-checksum-algorithm': 'CRC32' }));
    assert.equal(
      codeOf(() => requireBodyIntegrity({})),
      'InvalidRequest',
    );
  });
});

describe('routing of the API operations', () => {
  const route = (method: string, url: string, headers: Record<string, string> = {}): string => {
    const q = url.indexOf('?');
    return resolveRequest({
      method,
      rawPath: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      headers,
    }).operation;
  };
  it('routes DeleteObjects, versions, versioning, tagging and CORS', () => {
    assert.equal(route('POST', '/b?delete'), 'DeleteObjects');
    assert.equal(route('GET', '/b?versions&prefix=a'), 'ListObjectVersions');
    assert.equal(route('GET', '/b?versioning'), 'GetBucketVersioning');
    assert.equal(route('PUT', '/b?versioning'), 'PutBucketVersioning');
    assert.equal(route('GET', '/b/k?tagging'), 'GetObjectTagging');
    assert.equal(route('PUT', '/b/k?tagging&versionId=null'), 'PutObjectTagging');
    assert.equal(route('DELETE', '/b/k?tagging'), 'DeleteObjectTagging');
    assert.equal(route('GET', '/b?cors'), 'GetBucketCors');
    assert.equal(route('PUT', '/b?cors'), 'PutBucketCors');
    assert.equal(route('DELETE', '/b?cors'), 'DeleteBucketCors');
    assert.equal(route('GET', '/b/k?versionId=null'), 'GetObject');
    assert.equal(route('DELETE', '/b/k?versionId=x'), 'DeleteObject');
    assert.equal(route('PUT', '/b/k', { 'x-amz-tagging': 'a=1' }), 'PutObject');
  });
  it('answers NotImplemented where the feature would be silently dropped', () => {
    const code = (method: string, url: string, headers: Record<string, string> = {}): string =>
      codeOf(() => route(method, url, headers));
    assert.equal(code('GET', '/b?tagging'), 'NotImplemented');
    assert.equal(code('PUT', '/b/k?versionId=null'), 'NotImplemented');
    assert.equal(code('GET', '/b/k?cors'), 'NotImplemented');
    assert.equal(code('PUT', '/b/k?uploadId=1&partNumber=1', { 'x-amz-tagging': 'a=1' }), 'NotImplemented');
    assert.equal(code('GET', '/b?delete'), 'MethodNotAllowed');
    assert.equal(code('POST', '/b?cors'), 'MethodNotAllowed');
  });
});
