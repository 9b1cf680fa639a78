// The verification fast paths (values that are already canonical are returned as they are) give exactly what
// the general encoding and whitespace rules give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalHeaderValues } from '../../../shared/sigv4/canonical.ts';
import { uriEncode, uriEncodeBytes } from '../../../shared/sigv4/encoding.ts';

const URI_CHARS = [...'aZ09-_.~/ %+!*é日\u00a0'];
const SPACE_CHARS = [...'a;=Z9 \t\n\r\u00a0\u2028\u3000\v\f'];
const stringOf = (chars: string[]): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...chars), { maxLength: 24 }).map((a) => a.join(''));

test('property: uriEncode equals the byte-wise encoding of the UTF-8 bytes, with and without "/" kept', () => {
  fc.assert(
    fc.property(stringOf(URI_CHARS), fc.boolean(), (value, keepSlash) => {
      assert.equal(uriEncode(value, keepSlash), uriEncodeBytes(Buffer.from(value, 'utf8'), keepSlash));
    }),
    { numRuns: 2000 },
  );
});

test('uriEncode: unreserved-only strings come back unchanged, the rest are encoded', () => {
  assert.equal(uriEncode('v1/put/bench/0a0b', true), 'v1/put/bench/0a0b');
  assert.equal(uriEncode('a/b'), 'a%2Fb');
  assert.equal(uriEncode('a b~', true), 'a%20b~');
  assert.equal(uriEncode('é'), '%C3%A9');
  assert.equal(uriEncode(''), '');
});

test('property: canonical header values equal trim + collapse of every whitespace run to one space', () => {
  fc.assert(
    fc.property(stringOf(SPACE_CHARS), (value) => {
      const expected = value.trim().replace(/\s+/g, ' ');
      assert.equal(canonicalHeaderValues({ 'x-test': value }).get('x-test'), expected);
      assert.equal(
        canonicalHeaderValues({ 'x-test': [value, value] }).get('x-test'),
        `${expected},${expected}`,
      );
    }),
    { numRuns: 2000 },
  );
});
