// S3 XML: a tiny renderer with correct escaping, and request-body parsing with fast-xml-parser.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MalformedXML } from '../errors.ts';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** An element: name, then children (strings are text, arrays are nested elements). */
export type XmlNode = [name: string, ...children: XmlChild[]];
export type XmlChild = string | number | boolean | XmlNode | undefined | null;

// XML 1.0 forbids most control characters even escaped; S3 emits them as character references
// (clients that care use encoding-type=url), which we follow.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXml(text: string): string {
  return text.replace(NEEDS_ESCAPE, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

function renderNode(node: XmlNode, attributes = ''): string {
  const [name, ...children] = node;
  let inner = '';
  for (const child of children) {
    if (child === undefined || child === null) continue;
    inner += Array.isArray(child) ? renderNode(child) : escapeXml(String(child));
  }
  return `<${name}${attributes}>${inner}</${name}>`;
}

/** A complete document whose root carries the S3 namespace (or none for Error documents). */
export function renderDocument(root: XmlNode, namespace: string | null = S3_NAMESPACE): string {
  const attributes = namespace === null ? '' : ` xmlns="${escapeXml(namespace)}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderNode(root, attributes)}`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

/** Parses a request body; empty or malformed documents throw MalformedXML. */
export function parseXmlBody(text: string): Record<string, unknown> {
  if (text.trim() === '') throw MalformedXML('empty document');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw MalformedXML(valid.err.msg);
  const parsed: unknown = parser.parse(text);
  if (parsed === null || typeof parsed !== 'object') throw MalformedXML();
  return parsed as Record<string, unknown>;
}

/** CreateBucketConfiguration → LocationConstraint ('' when absent). */
export function parseCreateBucketConfiguration(text: string): string {
  if (text.trim() === '') return '';
  const document = parseXmlBody(text);
  const root = document.CreateBucketConfiguration;
  if (root === undefined) throw MalformedXML('expected a CreateBucketConfiguration element');
  if (root === '' || root === null) return '';
  if (typeof root !== 'object') throw MalformedXML('CreateBucketConfiguration must contain elements');
  const location = (root as Record<string, unknown>).LocationConstraint;
  if (location === undefined || location === '') return '';
  if (typeof location !== 'string') throw MalformedXML('LocationConstraint must be text');
  return location;
}
