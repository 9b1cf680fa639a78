import type { SessionTag } from '../command.ts';
import { validateSession } from '../command.ts';
import { S3dbError } from '../errors.ts';
import { parseHex, validateKey, validateTable } from '../keys.ts';

/** Session tag headers of a write (see shared/s3db-client): session id in hex, sequence number in decimal. */
export const SESSION_HEADER = 'x-s3db-session';
export const SEQUENCE_HEADER = 'x-s3db-seq';

/** The write's session tag, if the client sent one; malformed tags are a 400 (never silently ignored). */
export function parseSessionTag(
  headers: Record<string, string | string[] | undefined>,
): SessionTag | undefined {
  const id = headers[SESSION_HEADER];
  const seq = headers[SEQUENCE_HEADER];
  if (id === undefined && seq === undefined) return undefined;
  if (typeof id !== 'string' || typeof seq !== 'string' || !/^\d{1,15}$/.test(seq)) {
    throw new S3dbError('InvalidRequest', `${SESSION_HEADER} and ${SEQUENCE_HEADER} must be sent together`);
  }
  const tag = { client: parseHex(id, SESSION_HEADER), seq: Number(seq) };
  validateSession(tag);
  return tag;
}

/** A REST request translated into a typed operation (no I/O here). */
export type ApiRoute =
  | { op: 'put'; table: string; key: Uint8Array }
  | { op: 'get'; table: string; key: Uint8Array; stale: boolean }
  | { op: 'delete'; table: string; key: Uint8Array }
  | {
      op: 'scan';
      table: string;
      prefix?: Uint8Array;
      startAfter?: Uint8Array;
      limit?: number;
      stale: boolean;
    }
  | { op: 'batch' }
  | { op: 'leader' }
  | { op: 'join' }
  | { op: 'remove' }
  | { op: 'status' }
  | { op: 'health' };

export const WRITE_OPS = new Set<ApiRoute['op']>(['put', 'delete', 'batch', 'join', 'remove']);

function userTable(segment: string): string {
  let table: string;
  try {
    table = decodeURIComponent(segment);
  } catch {
    throw new S3dbError('InvalidTable', 'table name is not valid percent-encoding');
  }
  validateTable(table);
  if (table.startsWith('_'))
    throw new S3dbError('InvalidTable', `tables starting with "_" are internal: ${table}`);
  return table;
}

function userKey(segment: string): Uint8Array {
  const key = parseHex(segment);
  validateKey(key);
  return key;
}

function flag(params: URLSearchParams, name: string): boolean {
  const v = params.get(name);
  if (v === null) return false;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new S3dbError('InvalidRequest', `${name} must be true or false`);
}

function methodMust(method: string, expected: string, path: string): void {
  if (method !== expected)
    throw new S3dbError('InvalidRequest', `${path} expects ${expected}, got ${method}`);
}

/** Maps method + path + query to a route; throws S3dbError (4xx) for anything malformed or unknown. */
export function parseRoute(method: string, rawPath: string, rawQuery: string): ApiRoute {
  const params = new URLSearchParams(rawQuery);
  const parts = rawPath.split('/');
  if (rawPath === '/health') return { op: 'health' };
  if (rawPath === '/status') return { op: 'status' };
  if (parts[1] !== 'v1') throw new S3dbError('NotFound', `no route ${method} ${rawPath}`);
  const action = parts[2];
  if (parts.length === 3) {
    if (action === 'leader') return { op: 'leader' };
    if (action === 'join') {
      methodMust(method, 'POST', rawPath);
      return { op: 'join' };
    }
    if (action === 'remove') {
      methodMust(method, 'POST', rawPath);
      return { op: 'remove' };
    }
    if (action === 'batch') {
      methodMust(method, 'POST', rawPath);
      return { op: 'batch' };
    }
  }
  if (action === 'scan' && parts.length === 4) {
    methodMust(method, 'GET', rawPath);
    const route: ApiRoute = { op: 'scan', table: userTable(parts[3]!), stale: flag(params, 'stale') };
    const prefix = params.get('prefix');
    if (prefix) route.prefix = parseHex(prefix, 'prefix');
    const after = params.get('start_after') ?? params.get('continuation');
    if (after) route.startAfter = parseHex(after, 'start_after');
    const limit = params.get('limit');
    if (limit !== null) {
      if (!/^\d{1,9}$/.test(limit)) throw new S3dbError('InvalidRequest', 'limit must be a positive integer');
      route.limit = Number(limit);
    }
    return route;
  }
  if (parts.length === 5 && (action === 'put' || action === 'get' || action === 'delete')) {
    const table = userTable(parts[3]!);
    const key = userKey(parts[4]!);
    if (action === 'put') {
      methodMust(method, 'POST', rawPath);
      return { op: 'put', table, key };
    }
    if (action === 'get') {
      methodMust(method, 'GET', rawPath);
      return { op: 'get', table, key, stale: flag(params, 'stale') };
    }
    methodMust(method, 'DELETE', rawPath);
    return { op: 'delete', table, key };
  }
  throw new S3dbError('NotFound', `no route ${method} ${rawPath}`);
}
