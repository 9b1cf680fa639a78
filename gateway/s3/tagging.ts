// Object tagging (pure): the Tagging XML document, the x-amz-tagging header (URL query form), S3's
// limits, and the tag set a CopyObject gets from its x-amz-tagging-directive.
import { S3Error } from '../errors.ts';
import type { ObjectTag } from '../backend/types.ts';
import { MalformedXML } from '../errors.ts';
import { parseXmlBody, renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';

export const MAX_TAGS_PER_OBJECT = 10;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;

// S3 allows letters, digits, white space and + - = . _ : / @ in tag keys and values.
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}+\-=._:/@]*$/u;

export const InvalidTag = (message: string): S3Error => new S3Error('InvalidTag', message, 400);

/** Length in Unicode code points, as S3 counts tag limits. */
function chars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Throws InvalidTag / BadRequest when the tag set breaks S3's rules; returns it unchanged otherwise. */
export function validateTags(tags: readonly ObjectTag[]): readonly ObjectTag[] {
  if (tags.length > MAX_TAGS_PER_OBJECT)
    throw new S3Error('BadRequest', `Object tags cannot be greater than ${MAX_TAGS_PER_OBJECT}`, 400);
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    if (key === '') throw InvalidTag('The TagKey you have provided is invalid');
    if (chars(key) > MAX_TAG_KEY_CHARS)
      throw InvalidTag(`The TagKey you have provided is too long, max ${MAX_TAG_KEY_CHARS}`);
    if (chars(value) > MAX_TAG_VALUE_CHARS)
      throw InvalidTag(`The TagValue you have provided is too long, max ${MAX_TAG_VALUE_CHARS}`);
    if (!TAG_TEXT.test(key)) throw InvalidTag('The TagKey you have provided is invalid');
    if (!TAG_TEXT.test(value)) throw InvalidTag('The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) throw InvalidTag('Your TagKey cannot be prefixed with aws:');
    if (seen.has(key)) throw InvalidTag('Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
  return tags;
}

/** `x-amz-tagging: k1=v1&k2=v2` (URL-encoded query form) → validated tags. */
export function parseTaggingHeader(value: string): ObjectTag[] {
  const tags: ObjectTag[] = [];
  if (value.trim() === '') return tags;
  for (const part of value.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    tags.push({ key: decodeFormPart(rawKey), value: decodeFormPart(rawValue) });
  }
  validateTags(tags);
  return tags;
}

function decodeFormPart(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw InvalidTag('The header x-amz-tagging is not a valid URL-encoded query string');
  }
}

/** Tags → `k1=v1&k2=v2` (the x-amz-tagging form). */
export function formatTaggingHeader(tags: readonly ObjectTag[]): string {
  return tags.map((t) => `${encodeURIComponent(t.key)}=${encodeURIComponent(t.value)}`).join('&');
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === '' || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function textOf(value: unknown, what: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw MalformedXML(`${what} must be text`);
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>` → validated tags. */
export function parseTaggingXml(text: string): ObjectTag[] {
  const document = parseXmlBody(text);
  const root = document.Tagging;
  if (root === undefined) throw MalformedXML('expected a Tagging element');
  if (root === null || typeof root !== 'object' || !('TagSet' in root))
    throw MalformedXML('Tagging must contain a TagSet');
  const tagSet = (root as Record<string, unknown>).TagSet;
  const tags: ObjectTag[] = [];
  if (tagSet !== '' && tagSet !== null && tagSet !== undefined) {
    if (typeof tagSet !== 'object' || Array.isArray(tagSet))
      throw MalformedXML('TagSet must hold Tag elements');
    for (const tag of asArray((tagSet as Record<string, unknown>).Tag)) {
      if (tag === null || typeof tag !== 'object') throw MalformedXML('Tag must hold Key and Value');
      const t = tag as Record<string, unknown>;
      if (t.Key === undefined) throw MalformedXML('Tag must have a Key');
      if (t.Value === undefined) throw MalformedXML('Tag must have a Value');
      tags.push({ key: textOf(t.Key, 'Key'), value: textOf(t.Value, 'Value') });
    }
  }
  validateTags(tags);
  return tags;
}

export function taggingXml(tags: readonly ObjectTag[]): string {
  return renderDocument([
    'Tagging',
    ['TagSet', ...tags.map((t): XmlNode => ['Tag', ['Key', t.key], ['Value', t.value]])],
  ]);
}

/**
 * The tags a CopyObject gives its destination: `x-amz-tagging-directive` COPY (default) keeps the
 * source's tags, REPLACE takes the request's `x-amz-tagging` header (none = no tags).
 */
export function tagsForCopy(
  directive: string | undefined,
  sourceTags: readonly ObjectTag[] | undefined,
  taggingHeader: string | undefined,
): ObjectTag[] {
  const mode = (directive ?? 'COPY').trim().toUpperCase();
  if (mode === 'COPY') return [...(sourceTags ?? [])];
  if (mode === 'REPLACE') return taggingHeader === undefined ? [] : parseTaggingHeader(taggingHeader);
  throw new S3Error('InvalidArgument', 'Unknown tagging directive.', 400, {
    details: { ArgumentName: 'x-amz-tagging-directive', ArgumentValue: directive ?? '' },
  });
}
