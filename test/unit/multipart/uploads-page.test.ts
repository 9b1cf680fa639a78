// ListMultipartUploads paging against a model: walking every page with the returned markers lists
// exactly the model's entries (uploads, and common prefixes once each), in order, whatever the page size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arraySource, compareUploads, pageUploads } from '../../../gateway/s3/multipart-uploads-page.ts';
import type { UploadEntry } from '../../../gateway/s3/multipart-uploads-page.ts';
import { commonPrefixOf } from '../../../gateway/s3/paginate.ts';

function model(entries: readonly UploadEntry[], prefix: string, delimiter: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.key.startsWith(prefix)) continue;
    const rolled = commonPrefixOf(entry.key, prefix, delimiter);
    if (rolled === undefined) out.push(`${entry.key}#${entry.uploadId}`);
    else if (!seen.has(rolled)) {
      seen.add(rolled);
      out.push(`prefix ${rolled}`);
    }
  }
  return out;
}

async function walk(
  entries: readonly UploadEntry[],
  prefix: string,
  delimiter: string,
  maxUploads: number,
): Promise<string[]> {
  const out: string[] = [];
  let keyMarker = '';
  let uploadIdMarker = '';
  for (let pages = 0; pages < 1000; pages++) {
    const page = await pageUploads(arraySource(entries), {
      prefix,
      delimiter,
      keyMarker,
      uploadIdMarker,
      maxUploads,
    });
    // A page lists its uploads before its common prefixes; the model interleaves them in key order.
    const items = [
      ...page.uploads.map((u) => ({ sort: u.key, text: `${u.key}#${u.uploadId}`, id: u.uploadId })),
      ...page.commonPrefixes.map((p) => ({ sort: p, text: `prefix ${p}`, id: '' })),
    ].sort((a, b) => compareUploads({ key: a.sort, uploadId: a.id }, { key: b.sort, uploadId: b.id }));
    out.push(...items.map((i) => i.text));
    assert.ok(page.uploads.length + page.commonPrefixes.length <= maxUploads);
    if (!page.isTruncated) return out;
    assert.ok(page.nextKeyMarker !== undefined);
    keyMarker = page.nextKeyMarker;
    uploadIdMarker = page.nextUploadIdMarker ?? '';
  }
  assert.fail('paging did not end');
}

describe('ListMultipartUploads paging', () => {
  it('walks to the model listing with any page size, prefix and delimiter', async () => {
    const key = fc.stringMatching(/^[ab/]{1,4}$/);
    const entry = fc.record({ key, uploadId: fc.stringMatching(/^[0-9a-f]{4}$/) });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(entry, { selector: (e) => `${e.key}#${e.uploadId}`, maxLength: 25 }),
        fc.constantFrom('', 'a', 'a/', 'b'),
        fc.constantFrom('', '/'),
        fc.integer({ min: 1, max: 6 }),
        async (raw, prefix, delimiter, maxUploads) => {
          const entries = [...raw].sort(compareUploads);
          assert.deepEqual(
            await walk(entries, prefix, delimiter, maxUploads),
            model(entries, prefix, delimiter),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('honours key-marker without and with upload-id-marker as S3 documents', async () => {
    const entries = [
      { key: 'a', uploadId: '1' },
      { key: 'b', uploadId: '1' },
      { key: 'b', uploadId: '2' },
      { key: 'c', uploadId: '1' },
    ];
    const page = (keyMarker: string, uploadIdMarker: string): Promise<string[]> =>
      pageUploads(arraySource(entries), {
        prefix: '',
        delimiter: '',
        keyMarker,
        uploadIdMarker,
        maxUploads: 10,
      }).then((p) => p.uploads.map((u) => `${u.key}#${u.uploadId}`));
    assert.deepEqual(await page('b', ''), ['c#1']);
    assert.deepEqual(await page('b', '1'), ['b#2', 'c#1']);
    assert.deepEqual(await page('', ''), ['a#1', 'b#1', 'b#2', 'c#1']);
    const none = await pageUploads(arraySource(entries), {
      prefix: '',
      delimiter: '',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: 0,
    });
    assert.deepEqual(none, { uploads: [], commonPrefixes: [], isTruncated: false });
  });
});
