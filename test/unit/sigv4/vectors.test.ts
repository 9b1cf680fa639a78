// Known answers from the AWS S3 SigV4 documentation (example credentials, 2013-05-24T00:00:00Z).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  S3AuthError,
  canonicalUri,
  presignRequest,
  signRequest,
  signingKey,
  verifyHeaderAuth,
  verifyPresignedQuery,
  verifyRequest,
  type RequestLike,
} from '../../../shared/sigv4/index.ts';
import { TEST_CREDENTIALS } from './smithy-signer.ts';

const NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const lookup = (id: string): string | undefined =>
  id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined;
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const cred = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

function auth(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${cred},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

const vectors: Array<{ name: string; req: RequestLike; signature: string }> = [
  {
    name: 'GET object with Range',
    signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    req: {
      method: 'GET',
      rawPath: '/test.txt',
      query: '',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': '20130524T000000Z',
      },
    },
  },
  {
    name: 'PUT object',
    signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    req: {
      method: 'PUT',
      rawPath: '/test$file.text',
      query: '',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      },
    },
  },
  {
    name: 'GET bucket lifecycle',
    signature: 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    req: {
      method: 'GET',
      rawPath: '/',
      query: 'lifecycle',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': '20130524T000000Z',
      },
    },
  },
  {
    name: 'GET bucket (list objects)',
    signature: '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    req: {
      method: 'GET',
      rawPath: '/',
      query: 'max-keys=2&prefix=J',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': '20130524T000000Z',
      },
    },
  },
  {
    name: 'chunked upload seed signature',
    signature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    req: {
      method: 'PUT',
      rawPath: '/examplebucket/chunkObject.txt',
      query: '',
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
      },
    },
  },
];

for (const v of vectors) {
  test(`AWS doc vector verifies: ${v.name}`, () => {
    const signedHeaders = Object.keys(v.req.headers).sort().join(';');
    const req = { ...v.req, headers: { ...v.req.headers, authorization: auth(signedHeaders, v.signature) } };
    const verified = verifyHeaderAuth(req, lookup, { now: NOW });
    assert.equal(verified.signature, v.signature);
    assert.equal(verified.accessKeyId, TEST_CREDENTIALS.accessKeyId);
    assert.equal(verified.credentialScope, '20130524/us-east-1/s3/aws4_request');
  });

  test(`AWS doc vector is reproduced by signRequest: ${v.name}`, () => {
    const {
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': _date,
      ...headers
    } = v.req.headers as Record<string, string>;
    const signed = signRequest({
      method: v.req.method,
      path: v.req.rawPath,
      query: v.req.query,
      headers,
      payloadHash,
      credentials: TEST_CREDENTIALS,
      region: 'us-east-1',
      service: 's3',
      date: new Date(NOW),
    });
    assert.equal(signed.signature, v.signature);
  });

  test(`AWS doc vector with a flipped signature byte is refused: ${v.name}`, () => {
    const bad = (v.signature[0] === 'a' ? 'b' : 'a') + v.signature.slice(1);
    const signedHeaders = Object.keys(v.req.headers).sort().join(';');
    const req = { ...v.req, headers: { ...v.req.headers, authorization: auth(signedHeaders, bad) } };
    assert.throws(() => verifyHeaderAuth(req, lookup, { now: NOW }), { code: 'SignatureDoesNotMatch' });
  });
}

const presignedQuery =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
  '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
const presigned: RequestLike = {
  method: 'GET',
  rawPath: '/test.txt',
  query: presignedQuery,
  headers: { host: 'examplebucket.s3.amazonaws.com' },
};

test('AWS doc presigned URL verifies and is reproduced by presignRequest', () => {
  const verified = verifyPresignedQuery(presigned, lookup, { now: NOW + 3600_000 });
  assert.equal(verified.kind, 'presigned');
  assert.equal(verified.expiresAt?.toISOString(), '2013-05-25T00:00:00.000Z');
  const query = presignRequest({
    method: 'GET',
    path: '/test.txt',
    headers: { host: 'examplebucket.s3.amazonaws.com' },
    credentials: TEST_CREDENTIALS,
    region: 'us-east-1',
    service: 's3',
    date: new Date(NOW),
    expiresIn: 86400,
  });
  assert.ok(
    query.endsWith('X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404'),
  );
});

test('AWS doc presigned URL: expired one second after X-Amz-Expires → AccessDenied "Request has expired"', () => {
  assert.doesNotThrow(() => verifyRequest(presigned, lookup, { now: NOW + 86400_000 }));
  assert.throws(
    () => verifyRequest(presigned, lookup, { now: NOW + 86401_000 }),
    (e: unknown) =>
      e instanceof S3AuthError && e.code === 'AccessDenied' && e.status === 403 && /expired/.test(e.message),
  );
});

test('AWS doc presigned URL: a different host, path or method is SignatureDoesNotMatch', () => {
  const opts = { now: NOW };
  assert.throws(() => verifyRequest({ ...presigned, headers: { host: 'other.example.com' } }, lookup, opts), {
    code: 'SignatureDoesNotMatch',
  });
  assert.throws(() => verifyRequest({ ...presigned, rawPath: '/test.txu' }, lookup, opts), {
    code: 'SignatureDoesNotMatch',
  });
  assert.throws(() => verifyRequest({ ...presigned, method: 'PUT' }, lookup, opts), {
    code: 'SignatureDoesNotMatch',
  });
  // the signed host override restores the host the client signed
  assert.doesNotThrow(() =>
    verifyRequest({ ...presigned, headers: { host: 'abc.lambda-url.us-east-1.on.aws' } }, lookup, {
      ...opts,
      signedHostOverride: 'examplebucket.s3.amazonaws.com',
    }),
  );
});

test('signing key derivation matches the AWS general reference example', () => {
  // docs.aws.amazon.com "Examples of how to derive a signing key for Signature Version 4"
  const key = signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
  assert.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
});

test('canonical URI: S3 encodes once (normalising the client encoding), other services twice', () => {
  assert.equal(canonicalUri('/test$file.text'), '/test%24file.text');
  assert.equal(canonicalUri('/a%20b/c~d/%7e'), '/a%20b/c~d/~');
  assert.equal(canonicalUri('/a%2Fb//c/./d'), '/a%2Fb//c/./d');
  assert.equal(canonicalUri(''), '/');
  assert.equal(
    canonicalUri('/documents%20and%20settings/', { doubleEncode: true }),
    '/documents%2520and%2520settings/',
  );
  assert.equal(canonicalUri('/a//b/./c/../d', { doubleEncode: true }), '/a/b/d');
});

test('UTF-8 header bytes: signed as UTF-8 by the client, received by node:http one byte per character', () => {
  const date = new Date('2026-11-26T06:00:00Z');
  const signed = signRequest({
    method: 'PUT',
    path: '/b/k',
    headers: { host: 'h', 'x-amz-meta-name': 'café ☕' },
    payloadHash: 'UNSIGNED-PAYLOAD',
    credentials: TEST_CREDENTIALS,
    region: 'us-east-1',
    service: 's3',
    date,
  });
  const onTheWire = Buffer.from('café ☕', 'utf8').toString('latin1'); // what node gives for those bytes
  const req: RequestLike = {
    method: 'PUT',
    rawPath: '/b/k',
    query: '',
    headers: { host: 'h', 'x-amz-meta-name': onTheWire, ...signed.headers },
  };
  assert.equal(verifyRequest(req, lookup, { now: date }).accessKeyId, TEST_CREDENTIALS.accessKeyId);
  // a caller that already decoded the value as UTF-8 (not node:http) is verified too
  const decoded = { ...req, headers: { ...req.headers, 'x-amz-meta-name': 'café ☕' } };
  assert.equal(verifyRequest(decoded, lookup, { now: date }).accessKeyId, TEST_CREDENTIALS.accessKeyId);
});
