// Bucket CORS (pure): the CORSConfiguration document, its validation, rule matching for preflight
// (OPTIONS) and actual requests, and the Access-Control-* headers of the answers.
import type { CorsRule } from '../backend/types.ts';
import { InvalidRequest, MalformedXML, S3Error } from '../errors.ts';
import { parseXmlBody, renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';

export const MAX_CORS_RULES = 100;
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
const MAX_RULE_ID_CHARS = 255;

export const NoSuchCORSConfiguration = (bucket: string): S3Error =>
  new S3Error('NoSuchCORSConfiguration', 'The CORS configuration does not exist', 404, {
    details: { BucketName: bucket },
  });

/** S3's answer to a preflight or cross-origin request no rule allows. */
export const CorsForbidden = (message: string, method: string, resourceType: string): S3Error =>
  new S3Error('AccessForbidden', `CORSResponse: ${message}`, 403, {
    details: { Method: method, ResourceType: resourceType },
  });

function list(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (typeof item !== 'string') throw MalformedXML(`${what} must be text`);
    return item;
  });
}

function wildcards(text: string): number {
  return text.split('*').length - 1;
}

/** Parses and validates a PutBucketCors body. */
export function parseCorsXml(text: string): CorsRule[] {
  const document = parseXmlBody(text);
  const root = document.CORSConfiguration;
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw MalformedXML('expected a CORSConfiguration element with CORSRule elements');
  const rawRules = (root as Record<string, unknown>).CORSRule;
  const items = rawRules === undefined ? [] : Array.isArray(rawRules) ? rawRules : [rawRules];
  if (items.length === 0) throw MalformedXML('CORSConfiguration must contain at least one CORSRule');
  if (items.length > MAX_CORS_RULES)
    throw InvalidRequest(
      `The number of CORS rules should not exceed allowed limit of ${MAX_CORS_RULES} rules.`,
    );
  return items.map((item): CorsRule => {
    if (item === null || typeof item !== 'object') throw MalformedXML('CORSRule must contain elements');
    const r = item as Record<string, unknown>;
    const rule: CorsRule = {
      allowedOrigins: list(r.AllowedOrigin, 'AllowedOrigin'),
      allowedMethods: list(r.AllowedMethod, 'AllowedMethod'),
      allowedHeaders: list(r.AllowedHeader, 'AllowedHeader'),
      exposeHeaders: list(r.ExposeHeader, 'ExposeHeader'),
    };
    if (r.ID !== undefined) {
      const [id] = list(r.ID, 'ID');
      if (id !== undefined && [...id].length > MAX_RULE_ID_CHARS)
        throw InvalidRequest(`The ID of a CORSRule can be at most ${MAX_RULE_ID_CHARS} characters.`);
      if (id !== undefined && id !== '') rule.id = id;
    }
    if (r.MaxAgeSeconds !== undefined) {
      const [age] = list(r.MaxAgeSeconds, 'MaxAgeSeconds');
      if (age === undefined || !/^\d{1,10}$/.test(age) || Number(age) > 2 ** 31 - 1)
        throw MalformedXML('MaxAgeSeconds must be a non-negative integer');
      rule.maxAgeSeconds = Number(age);
    }
    if (rule.allowedOrigins.length === 0) throw MalformedXML('each CORSRule needs an AllowedOrigin');
    if (rule.allowedMethods.length === 0) throw MalformedXML('each CORSRule needs an AllowedMethod');
    for (const method of rule.allowedMethods)
      if (!(CORS_METHODS as readonly string[]).includes(method))
        throw InvalidRequest(`Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    for (const origin of rule.allowedOrigins)
      if (wildcards(origin) > 1)
        throw InvalidRequest(`AllowedOrigin "${origin}" can not have more than one wildcard.`);
    for (const header of rule.allowedHeaders)
      if (wildcards(header) > 1)
        throw InvalidRequest(`AllowedHeader "${header}" can not have more than one wildcard.`);
    return rule;
  });
}

export function corsXml(rules: readonly CorsRule[]): string {
  return renderDocument([
    'CORSConfiguration',
    ...rules.map((rule): XmlNode => [
      'CORSRule',
      rule.id === undefined ? undefined : ['ID', rule.id],
      ...rule.allowedHeaders.map((h): XmlNode => ['AllowedHeader', h]),
      ...rule.allowedMethods.map((m): XmlNode => ['AllowedMethod', m]),
      ...rule.allowedOrigins.map((o): XmlNode => ['AllowedOrigin', o]),
      ...rule.exposeHeaders.map((h): XmlNode => ['ExposeHeader', h]),
      rule.maxAgeSeconds === undefined ? undefined : ['MaxAgeSeconds', rule.maxAgeSeconds],
    ]),
  ]);
}

/** `pattern` with at most one `*` (any run of characters) against `value`. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/** `Access-Control-Request-Headers: a, b` → ['a', 'b'] (lower-cased, empty parts dropped). */
export function parseHeaderList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

function ruleAllows(rule: CorsRule, origin: string, method: string): boolean {
  return rule.allowedMethods.includes(method) && rule.allowedOrigins.some((o) => wildcardMatch(o, origin));
}

/** The first rule allowing a preflight for `origin`, `method` and every requested header. */
export function matchPreflight(
  rules: readonly CorsRule[],
  origin: string,
  method: string,
  requestHeaders: readonly string[],
): CorsRule | undefined {
  return rules.find(
    (rule) =>
      ruleAllows(rule, origin, method) &&
      requestHeaders.every((h) => rule.allowedHeaders.some((a) => wildcardMatch(a, h, true))),
  );
}

/** The first rule allowing an actual cross-origin request (headers are not checked for those). */
export function matchRequest(
  rules: readonly CorsRule[],
  origin: string,
  method: string,
): CorsRule | undefined {
  return rules.find((rule) => ruleAllows(rule, origin, method));
}

function allowOrigin(rule: CorsRule, origin: string): Record<string, string> {
  // A rule for any origin answers `*`; a specific origin is echoed and may send credentials.
  return rule.allowedOrigins.includes('*')
    ? { 'access-control-allow-origin': '*' }
    : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
}

/** Headers of a successful preflight answer. */
export function preflightHeaders(
  rule: CorsRule,
  origin: string,
  requestHeaders: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {
    ...allowOrigin(rule, origin),
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (requestHeaders.length > 0) headers['access-control-allow-headers'] = requestHeaders.join(', ');
  if (rule.exposeHeaders.length > 0) headers['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.maxAgeSeconds);
  return headers;
}

/** Headers added to an actual request's answer when a rule allows its origin and method. */
export function requestCorsHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const headers: Record<string, string> = {
    ...allowOrigin(rule, origin),
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (rule.exposeHeaders.length > 0) headers['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.maxAgeSeconds);
  return headers;
}
