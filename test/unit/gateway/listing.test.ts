import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareKeys, endOfPrefix, lowerBound } from '../../../gateway/s3/key-order.ts';
import { commonPrefixOf, paginateKeys } from '../../../gateway/s3/paginate.ts';
import type { PageEntry } from '../../../gateway/s3/paginate.ts';

const utf8Compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The obvious model: every matching key, rolled up, deduplicated, in order. */
function allEntries(keys: readonly string[], prefix: string, delimiter: string): PageEntry[] {
  const entries: PageEntry[] = [];
  for (const key of [...keys].sort(utf8Compare)) {
    if (!key.startsWith(prefix)) continue;
    const rolled = commonPrefixOf(key, prefix, delimiter);
    if (rolled === undefined) entries.push({ kind: 'key', value: key });
    else if (entries.at(-1)?.value !== rolled || entries.at(-1)?.kind !== 'prefix')
      entries.push({ kind: 'prefix', value: rolled });
  }
  return entries;
}

const keyChars = fc.constantFrom('a', 'b', '/', '-', 'é', '😀', '\uffff', 'z');
const keyArb = fc.array(keyChars, { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));

describe('key order', () => {
  it('equals UTF-8 byte order, including astral characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Compare(a, b)));
      }),
      { numRuns: 2000 },
    );
    assert.ok(compareKeys('\uffff', '😀') < 0);
  });
  it('finds bounds in a sorted list', () => {
    const keys = ['a', 'a/1', 'a/2', 'b', 'c'];
    assert.equal(lowerBound(keys, 'a'), 1);
    assert.equal(lowerBound(keys, 'a', true), 0);
    assert.equal(lowerBound(keys, 'bb'), 4);
    assert.equal(endOfPrefix(keys, 'a/'), 3);
    assert.equal(endOfPrefix(keys, 'a'), 3);
    assert.equal(endOfPrefix(keys, 'zz'), 5);
  });
});

describe('paginateKeys', () => {
  it('pages through exactly the model listing for any keys, prefix, delimiter and page size', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { maxLength: 40 }),
        fc.constantFrom('', 'a', 'a/', 'b', '😀'),
        fc.constantFrom('', '/', '-', 'é'),
        fc.integer({ min: 1, max: 7 }),
        (keys, prefix, delimiter, maxKeys) => {
          const sorted = [...keys].sort(compareKeys);
          const expected = allEntries(keys, prefix, delimiter);
          const seen: PageEntry[] = [];
          let after = '';
          for (let pages = 0; pages <= keys.length + 1; pages++) {
            const page = paginateKeys(sorted, { prefix, delimiter, after, maxKeys });
            assert.ok(page.entries.length <= maxKeys);
            seen.push(...page.entries);
            if (!page.isTruncated) break;
            assert.equal(page.entries.length, maxKeys);
            after = page.nextAfter as string;
          }
          assert.deepEqual(seen, expected);
        },
      ),
      { numRuns: 600 },
    );
  });
  it('honours start-after anywhere, also before the prefix', () => {
    const keys = ['a/1', 'a/2', 'b/1', 'b/2', 'c'].sort(compareKeys);
    const page = (after: string, prefix = '', delimiter = ''): string[] =>
      paginateKeys(keys, { prefix, delimiter, after, maxKeys: 100 }).entries.map((e) => e.value);
    assert.deepEqual(page('a/2'), ['b/1', 'b/2', 'c']);
    assert.deepEqual(page('0', 'b'), ['b/1', 'b/2']);
    assert.deepEqual(page('a/1', '', '/'), ['a/', 'b/', 'c']);
    assert.deepEqual(page('a/', '', '/'), ['b/', 'c']);
    assert.deepEqual(page('zzz'), []);
  });
  it('returns nothing and is not truncated for max-keys 0', () => {
    assert.deepEqual(paginateKeys(['a'], { prefix: '', delimiter: '', after: '', maxKeys: 0 }), {
      entries: [],
      isTruncated: false,
    });
  });
  it('is truncated only when more entries follow', () => {
    const exact = paginateKeys(['a', 'b'], { prefix: '', delimiter: '', after: '', maxKeys: 2 });
    assert.equal(exact.isTruncated, false);
    const more = paginateKeys(['a', 'b', 'c'], { prefix: '', delimiter: '', after: '', maxKeys: 2 });
    assert.equal(more.isTruncated, true);
    assert.equal(more.nextAfter, 'b');
  });
});
