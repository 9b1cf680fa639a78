// Credentials from [[auth]], the single authenticate() entry point, and policy decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ANONYMOUS,
  CredentialConfigError,
  CredentialStore,
  OPERATION_ACTIONS,
  actionFor,
  authenticate,
  authorize,
  isAllowed,
  matchesPattern,
  toRequestLike,
  type Identity,
} from '../../../gateway/auth/index.ts';
import { sdkSigner, type SdkRequest } from '../sigv4/smithy-signer.ts';

const store = new CredentialStore([
  // the example key signs with the smithy test credentials
  {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    accountId: '123456789012',
    policy: [
      {
        bucket: 'datastore',
        actions: ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:ListAllMyBuckets'],
      },
      { bucket: 'logs-*', actions: ['s3:Get*'] },
    ],
  },
  { accessKeyId: 'ADMINKEY', secretAccessKey: 'admin-secret', accountId: '111111111111' },
]);

function identity(accessKeyId: string): Identity {
  const account = store.account(accessKeyId)!;
  return { anonymous: false, ...account };
}

test('CredentialStore: lookups, default account id, configuration errors', () => {
  assert.equal(store.size, 2);
  assert.equal(store.lookup('ADMINKEY'), 'admin-secret');
  assert.equal(store.lookup('nobody'), undefined);
  assert.equal(
    new CredentialStore([{ accessKeyId: 'K', secretAccessKey: 's' }]).account('K')?.accountId,
    '000000000000',
  );
  assert.throws(
    () => new CredentialStore([{ accessKeyId: '', secretAccessKey: 's' }]),
    CredentialConfigError,
  );
  assert.throws(
    () => new CredentialStore([{ accessKeyId: 'K', secretAccessKey: '' }]),
    CredentialConfigError,
  );
  assert.throws(
    () =>
      new CredentialStore([
        { accessKeyId: 'K', secretAccessKey: 'a' },
        { accessKeyId: 'K', secretAccessKey: 'b' },
      ]),
    /listed twice/,
  );
  assert.throws(
    () =>
      new CredentialStore([
        { accessKeyId: 'K', secretAccessKey: 'a', policy: [{ bucket: 'b', actions: [] }] },
      ]),
    CredentialConfigError,
  );
});

test('authenticate: SDK-signed request → identity with account and policy; failures are typed', async () => {
  const date = new Date('2026-11-26T06:00:00Z');
  const request: SdkRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname: 'datastore.s3.example.test',
    path: '/photo.jpg',
    query: {},
    headers: { host: 'datastore.s3.example.test', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  };
  const signed = (await sdkSigner().sign(request, { signingDate: date })) as SdkRequest;
  const req = toRequestLike('GET', '/photo.jpg', signed.headers);
  const who = authenticate(req, store, { now: date });
  assert.equal(who.accountId, '123456789012');
  assert.equal(who.anonymous, false);
  assert.equal(who.auth?.signature.length, 64);
  assert.equal(who.policy.length, 2);

  // the host a Lambda function URL / ALB put in front of us, with the signed host given back
  const proxied = { ...req, headers: { ...req.headers, host: 'xyz.lambda-url.us-east-1.on.aws' } };
  assert.throws(() => authenticate(proxied, store, { now: date }), { code: 'SignatureDoesNotMatch' });
  assert.equal(
    authenticate(proxied, store, { now: date, signedHostOverride: 'datastore.s3.example.test' }).accountId,
    '123456789012',
  );
  const forwarded = {
    ...proxied,
    headers: { ...proxied.headers, 'x-forwarded-host': 'datastore.s3.example.test' },
  };
  assert.throws(() => authenticate(forwarded, store, { now: date }), { code: 'SignatureDoesNotMatch' });
  assert.equal(
    authenticate(forwarded, store, { now: date, trustForwardedHost: true }).accountId,
    '123456789012',
  );

  assert.throws(
    () => authenticate(req, new CredentialStore([{ accessKeyId: 'X', secretAccessKey: 'y' }]), { now: date }),
    {
      code: 'InvalidAccessKeyId',
    },
  );
  const unsigned = toRequestLike('GET', '/photo.jpg?x=1', { host: 'datastore.s3.example.test' });
  assert.throws(() => authenticate(unsigned, store, { now: date }), { code: 'AccessDenied', status: 403 });
  assert.equal(authenticate(unsigned, store, { now: date, allowAnonymous: true }), ANONYMOUS);
  assert.deepEqual(toRequestLike('PUT', '/b/k%20x?uploads', {}), {
    method: 'PUT',
    rawPath: '/b/k%20x',
    query: 'uploads',
    headers: {},
  });
});

test('policy: statements grant named actions on named buckets (patterns), nothing else', () => {
  const user = identity('AKIAIOSFODNN7EXAMPLE');
  assert.ok(isAllowed(user, actionFor('GetObject'), 'datastore'));
  assert.ok(isAllowed(user, actionFor('HeadObject'), 'datastore'));
  assert.ok(isAllowed(user, actionFor('ListObjectsV2'), 'datastore'));
  assert.ok(isAllowed(user, actionFor('CompleteMultipartUpload'), 'datastore'));
  assert.ok(!isAllowed(user, actionFor('DeleteObject'), 'datastore'));
  assert.ok(!isAllowed(user, actionFor('GetObject'), 'videos'));
  assert.ok(isAllowed(user, actionFor('ListBuckets'), undefined));
  assert.ok(isAllowed(user, 's3:GetObjectTagging', 'logs-2026'));
  assert.ok(!isAllowed(user, 's3:PutObject', 'logs-2026'));
  assert.ok(!isAllowed(user, actionFor('CreateBucket'), 'datastore'));
  assert.throws(() => authorize(user, 's3:DeleteBucket', 'datastore'), { code: 'AccessDenied', status: 403 });
  // wildcards
  const star: Identity = { ...user, policy: [{ bucket: '*', actions: ['s3:*'] }] };
  assert.ok(isAllowed(star, 's3:DeleteBucket', 'anything'));
  const anyAction: Identity = { ...user, policy: [{ bucket: 'b', actions: ['*'] }] };
  assert.ok(isAllowed(anyAction, 's3:PutBucketCORS', 'b'));
  assert.ok(!isAllowed(anyAction, 's3:PutBucketCORS', 'c'));
  assert.ok(
    isAllowed({ ...user, policy: [{ bucket: 'b', actions: ['S3:getobject'] }] }, 's3:GetObject', 'b'),
  );
});

test("ownership: another account's bucket is AccessDenied whatever the policy; shared config buckets follow policy", () => {
  const admin = identity('ADMINKEY'); // no policy: everything in its own account
  assert.ok(isAllowed(admin, 's3:DeleteBucket', 'mine', { owner: '111111111111' }));
  assert.ok(isAllowed(admin, 's3:CreateBucket', 'new-bucket'));
  assert.ok(!isAllowed(admin, 's3:GetObject', 'theirs', { owner: '123456789012' }));
  const user = identity('AKIAIOSFODNN7EXAMPLE');
  assert.ok(!isAllowed(user, 's3:GetObject', 'datastore', { owner: '111111111111' }));
  assert.ok(isAllowed(user, 's3:GetObject', 'datastore', { owner: '123456789012' }));
  assert.ok(isAllowed(user, 's3:GetObject', 'datastore', {}));
});

test('anonymous: only reads of public buckets', () => {
  assert.ok(isAllowed(ANONYMOUS, 's3:GetObject', 'site', { public: true }));
  assert.ok(isAllowed(ANONYMOUS, 's3:ListBucket', 'site', { public: true }));
  assert.ok(!isAllowed(ANONYMOUS, 's3:PutObject', 'site', { public: true }));
  assert.ok(!isAllowed(ANONYMOUS, 's3:GetObject', 'private', {}));
  assert.ok(!isAllowed(ANONYMOUS, 's3:ListAllMyBuckets', undefined, { public: true }));
});

test('every operation maps to an s3: action', () => {
  for (const [operation, action] of Object.entries(OPERATION_ACTIONS))
    assert.match(action, /^s3:[A-Za-z]+$/, operation);
});

test('property: matchesPattern agrees with an anchored, case-insensitive regular expression', () => {
  const alphabet = fc.constantFrom('a', 'b', ':', '-', '*');
  fc.assert(
    fc.property(
      fc.array(alphabet, { maxLength: 8 }),
      fc.array(
        alphabet.filter((c) => c !== '*'),
        { maxLength: 10 },
      ),
      (p, v) => {
        const pattern = p.join('');
        const value = v.join('');
        const regex = new RegExp(
          '^' +
            pattern
              .split('*')
              .map((s) => s.replace(/[-:]/g, '\\$&'))
              .join('.*') +
            '$',
          'i',
        );
        assert.equal(matchesPattern(pattern, value), regex.test(value), `${pattern} vs ${value}`);
      },
    ),
    { numRuns: 500 },
  );
});
