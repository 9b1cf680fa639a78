// DeleteObjects (pure): the <Delete> request document and the <DeleteResult> answer.
// Keys are taken exactly as sent (no whitespace trimming; character references decoded), since a
// key with a leading space is a different key.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MalformedXML } from '../errors.ts';
import { renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';

export const MAX_DELETE_KEYS = 1000;

export interface DeleteEntry {
  key: string;
  versionId?: string;
  /** The entry asks for a conditional delete (ETag / LastModifiedTime / Size), which we do not support. */
  conditional?: boolean;
}

export interface DeleteRequest {
  quiet: boolean;
  objects: DeleteEntry[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Object',
});

function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  throw MalformedXML(`${what} must be text`);
}

/** Parses a DeleteObjects body; more than 1000 objects, none, or a bad shape → MalformedXML. */
export function parseDeleteXml(body: string): DeleteRequest {
  if (body.trim() === '') throw MalformedXML('empty document');
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw MalformedXML(valid.err.msg);
  const document = parser.parse(body) as Record<string, unknown>;
  const root = document.Delete;
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw MalformedXML('expected a Delete element with Object elements');
  const r = root as Record<string, unknown>;
  const quietText = text(r.Quiet, 'Quiet').trim().toLowerCase();
  if (quietText !== '' && quietText !== 'true' && quietText !== 'false')
    throw MalformedXML('Quiet must be true or false');
  const list = (r.Object as unknown[] | undefined) ?? [];
  if (list.length === 0) throw MalformedXML('Delete must name at least one Object');
  if (list.length > MAX_DELETE_KEYS)
    throw MalformedXML(`Delete can name at most ${MAX_DELETE_KEYS} objects, not ${list.length}`);
  const objects = list.map((item): DeleteEntry => {
    if (item === null || typeof item !== 'object') throw MalformedXML('Object must contain a Key');
    const o = item as Record<string, unknown>;
    if (o.Key === undefined) throw MalformedXML('Object must contain a Key');
    const entry: DeleteEntry = { key: text(o.Key, 'Key') };
    if (entry.key === '') throw MalformedXML('Key must not be empty');
    if (o.VersionId !== undefined) entry.versionId = text(o.VersionId, 'VersionId');
    if (o.ETag !== undefined || o.LastModifiedTime !== undefined || o.Size !== undefined)
      entry.conditional = true;
    return entry;
  });
  return { quiet: quietText === 'true', objects };
}

export interface DeletedResult {
  key: string;
  versionId?: string;
}

export interface DeleteErrorResult {
  key: string;
  versionId?: string;
  code: string;
  message: string;
}

export interface DeleteObjectsResult {
  deleted: DeletedResult[];
  errors: DeleteErrorResult[];
}

/** The <DeleteResult>: in quiet mode only the errors. */
export function deleteResultXml(result: DeleteObjectsResult, quiet: boolean): string {
  const deleted = quiet
    ? []
    : result.deleted.map((d): XmlNode => [
        'Deleted',
        ['Key', d.key],
        d.versionId === undefined ? undefined : ['VersionId', d.versionId],
      ]);
  const errors = result.errors.map((e): XmlNode => [
    'Error',
    ['Key', e.key],
    e.versionId === undefined ? undefined : ['VersionId', e.versionId],
    ['Code', e.code],
    ['Message', e.message],
  ]);
  return renderDocument(['DeleteResult', ...deleted, ...errors]);
}
