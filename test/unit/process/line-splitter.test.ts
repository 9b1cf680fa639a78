import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../../shared/process/line-splitter.ts';

describe('LineSplitter', () => {
  it('splits on newlines across chunks, drops \\r of CRLF, and keeps a last line without newline for end()', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(Buffer.from('one\ntw')), ['one']);
    assert.deepEqual(s.push(Buffer.from('o\r\nthree\n\n')), ['two', 'three', '']);
    assert.deepEqual(s.push(Buffer.from('tail')), []);
    assert.deepEqual(s.end(), ['tail']);
    assert.deepEqual(s.end(), []);
  });

  it('cuts a line longer than the bound into pieces of the bound', () => {
    const s = new LineSplitter(4);
    assert.deepEqual(s.push(Buffer.from('abcdefghij\nxy')), ['abcd', 'efgh', 'ij']);
    assert.deepEqual(s.push(Buffer.from('z1234')), ['xyz1']);
    assert.deepEqual(s.end(), ['234']);
  });

  it('a line of exactly the bound followed by its newline is one line', () => {
    const s = new LineSplitter(3);
    assert.deepEqual(s.push(Buffer.from('abc\ndef\n')), ['abc', 'def']);
  });

  it('rejects a bound that is not a positive integer', () => {
    assert.throws(() => new LineSplitter(0), RangeError);
    assert.throws(() => new LineSplitter(1.5), RangeError);
  });

  it('property: however the bytes are chunked, the lines are the same and none passes the bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '\n', 'é', '\r\n'), { maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 12 }),
        (parts, cuts, bound) => {
          const bytes = Buffer.from(parts.join(''));
          const whole = new LineSplitter(bound);
          const expected = [...whole.push(bytes), ...whole.end()];
          const chunked = new LineSplitter(bound);
          const got: string[] = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number;
            got.push(...chunked.push(bytes.subarray(at, at + size)));
            at += size;
          }
          got.push(...chunked.end());
          assert.deepEqual(got, expected);
          // (A cut through a two-byte character decodes as replacement characters, so only ASCII is measured.)
          if (!parts.includes('é')) for (const line of got) assert.ok(line.length <= bound);
          if (!parts.some((p) => p.includes('\r') || p === 'é'))
            assert.equal(got.join(''), bytes.toString().replaceAll('\n', ''));
        },
      ),
    );
  });
});
