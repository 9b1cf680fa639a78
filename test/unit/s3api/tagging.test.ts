import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatTaggingHeader,
  parseTaggingHeader,
  parseTaggingXml,
  taggingXml,
  tagsForCopy,
  validateTags,
} from '../../../gateway/s3/tagging.ts';
import { s3ErrorCode as codeOf } from '../../support/s3-errors.ts';

describe('object tagging (pure)', () => {
  it('parses x-amz-tagging as a URL-encoded query', () => {
    assert.deepEqual(parseTaggingHeader('a=1&b=two%20words&c=&d+e=f+g'), [
      { key: 'a', value: '1' },
      { key: 'b', value: 'two words' },
      { key: 'c', value: '' },
      { key: 'd e', value: 'f g' },
    ]);
    assert.deepEqual(parseTaggingHeader(''), []);
    assert.deepEqual(parseTaggingHeader('k%C3%BC=%2F%3A'), [{ key: 'kü', value: '/:' }]);
    assert.equal(
      codeOf(() => parseTaggingHeader('a=1&a=2')),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => parseTaggingHeader('a=%E0%A4%A')),
      'InvalidTag',
    );
    const tags = [
      { key: 'x y', value: 'ü/+' },
      { key: 'k', value: '' },
    ];
    assert.deepEqual(parseTaggingHeader(formatTaggingHeader(tags)), tags);
  });

  it('enforces S3 limits: 10 tags, keys ≤ 128 and values ≤ 256 characters, no duplicates, allowed characters', () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, value: '' }));
    assert.equal(
      codeOf(() => validateTags(many)),
      'BadRequest',
    );
    validateTags(many.slice(0, 10));
    // limits count characters, not bytes
    validateTags([{ key: 'ü'.repeat(128), value: '𝒜'.repeat(256) }]);
    assert.equal(
      codeOf(() => validateTags([{ key: 'k'.repeat(129), value: '' }])),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => validateTags([{ key: 'k', value: 'v'.repeat(257) }])),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => validateTags([{ key: '', value: 'v' }])),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => validateTags([{ key: 'a*b', value: '' }])),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => validateTags([{ key: 'k', value: 'semi;colon' }])),
      'InvalidTag',
    );
    assert.equal(
      codeOf(() => validateTags([{ key: 'aws:reserved', value: '' }])),
      'InvalidTag',
    );
    validateTags([{ key: 'a b+c-d=e.f_g:h/i@j', value: '0123 ÄÖÜ' }]);
  });

  it('round-trips the Tagging document, keeping order and escaping', () => {
    const tags = [
      { key: 'b', value: 'x & y' },
      { key: 'a', value: '' },
    ];
    const xml = taggingXml([{ key: 'b', value: 'x @ y' }, tags[1]!]);
    assert.match(xml, /<Tagging xmlns="[^"]+"><TagSet><Tag><Key>b<\/Key><Value>x @ y<\/Value><\/Tag>/);
    assert.deepEqual(parseTaggingXml(xml), [
      { key: 'b', value: 'x @ y' },
      { key: 'a', value: '' },
    ]);
    assert.deepEqual(parseTaggingXml('<Tagging><TagSet></TagSet></Tagging>'), []);
    assert.deepEqual(parseTaggingXml('<Tagging><TagSet/></Tagging>'), []);
    assert.equal(
      codeOf(() => parseTaggingXml('<Tagging></Tagging>')),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseTaggingXml('<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>')),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseTaggingXml('<Other/>')),
      'MalformedXML',
    );
    assert.equal(
      codeOf(() => parseTaggingXml('<Tagging><TagSet>')),
      'MalformedXML',
    );
    const dup =
      '<Tagging><TagSet><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></TagSet></Tagging>';
    assert.equal(
      codeOf(() => parseTaggingXml(dup)),
      'InvalidTag',
    );
  });

  it('gives CopyObject the source tags (COPY) or the request tags (REPLACE)', () => {
    const source = [{ key: 's', value: '1' }];
    assert.deepEqual(tagsForCopy(undefined, source, 'x=1'), source);
    assert.deepEqual(tagsForCopy('COPY', undefined, undefined), []);
    assert.deepEqual(tagsForCopy('REPLACE', source, 'x=1'), [{ key: 'x', value: '1' }]);
    assert.deepEqual(tagsForCopy('replace', source, undefined), []);
    assert.equal(
      codeOf(() => tagsForCopy('MERGE', source, undefined)),
      'InvalidArgument',
    );
  });
});
