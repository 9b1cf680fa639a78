// The gateway's operator endpoints under /_predastore/ (pure). A bucket name never contains `_`, so
// none of these paths can address a bucket in path style (see gateway/health.ts).
import { ADMIN_ACTIONS } from './auth-rules.ts';
import type { AdminAction } from './auth-rules.ts';
import { JOB_KINDS, JOB_STATES } from '../../shared/jobs/index.ts';
import type { JobKind, JobState } from '../../shared/jobs/index.ts';

export const METRICS_PATH = '/_predastore/metrics';
export const STATUS_PAGE_PATH = '/_predastore/status';
export const ADMIN_PREFIX = '/_predastore/admin/';

export type OpsRoute =
  | { kind: 'metrics' }
  | { kind: 'statusPage'; action: AdminAction }
  | { kind: 'status'; action: AdminAction }
  | { kind: 'listJobs'; action: AdminAction; limit: number; states?: JobState[]; kinds?: JobKind[] }
  | { kind: 'getJob'; action: AdminAction; id: string }
  | { kind: 'createJob'; action: AdminAction }
  | { kind: 'stopJob'; action: AdminAction; id: string }
  | { kind: 'resumeJob'; action: AdminAction; id: string };

/** A request to an operator path that cannot be served: `status` 400/404/405 with a code. */
export class OpsRouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly allow?: string,
  ) {
    super(message);
    this.name = 'OpsRouteError';
  }
}

/** Whether `rawPath` is one of the operator paths (metrics, status page, admin API). */
export function isOpsPath(rawPath: string): boolean {
  return rawPath === METRICS_PATH || rawPath === STATUS_PAGE_PATH || rawPath.startsWith(ADMIN_PREFIX);
}

const JOB_ID = /^[0-9a-f]{32}$/;
const MAX_LIST = 1000;

function only(method: string, allowed: string, path: string): void {
  const ok = allowed.split(', ');
  if (!ok.includes(method))
    throw new OpsRouteError(405, 'MethodNotAllowed', `${method} ${path}: use ${allowed}`, allowed);
}

function listOf<T extends string>(value: string | null, known: readonly T[], name: string): T[] | undefined {
  if (value === null || value === '') return undefined;
  const items = value.split(',');
  for (const item of items)
    if (!(known as readonly string[]).includes(item))
      throw new OpsRouteError(
        400,
        'InvalidArgument',
        `${name}: ${JSON.stringify(item)} is not one of ${known.join(', ')}`,
      );
  return items as T[];
}

export function parseOpsRoute(method: string, rawPath: string, rawQuery: string): OpsRoute {
  if (rawPath === METRICS_PATH) {
    only(method, 'GET, HEAD', rawPath);
    return { kind: 'metrics' };
  }
  if (rawPath === STATUS_PAGE_PATH) {
    only(method, 'GET, HEAD', rawPath);
    return { kind: 'statusPage', action: ADMIN_ACTIONS.getStatus };
  }
  if (!rawPath.startsWith(ADMIN_PREFIX))
    throw new OpsRouteError(404, 'NotFound', `no operator endpoint ${rawPath}`);
  const parts = rawPath.slice(ADMIN_PREFIX.length).split('/');
  const [first, id, verb, ...rest] = parts;
  if (rest.length > 0) throw new OpsRouteError(404, 'NotFound', `no admin endpoint ${rawPath}`);
  if (first === 'status' && id === undefined) {
    only(method, 'GET, HEAD', rawPath);
    return { kind: 'status', action: ADMIN_ACTIONS.getStatus };
  }
  if (first !== 'jobs') throw new OpsRouteError(404, 'NotFound', `no admin endpoint ${rawPath}`);
  if (id === undefined || id === '') {
    if (method === 'POST') return { kind: 'createJob', action: ADMIN_ACTIONS.createJob };
    only(method, 'GET, HEAD, POST', rawPath);
    const query = new URLSearchParams(rawQuery);
    const limitText = query.get('limit');
    if (limitText !== null && !/^\d{1,6}$/.test(limitText))
      throw new OpsRouteError(400, 'InvalidArgument', 'limit must be a whole number');
    const limit = Math.min(MAX_LIST, Math.max(1, limitText === null ? 100 : Number(limitText)));
    const states = listOf(query.get('state'), JOB_STATES, 'state');
    const kinds = listOf(query.get('kind'), JOB_KINDS, 'kind');
    return {
      kind: 'listJobs',
      action: ADMIN_ACTIONS.listJobs,
      limit,
      ...(states === undefined ? {} : { states }),
      ...(kinds === undefined ? {} : { kinds }),
    };
  }
  if (!JOB_ID.test(id))
    throw new OpsRouteError(
      400,
      'InvalidJobId',
      `job id ${JSON.stringify(id)} is not 32 lowercase hex digits`,
    );
  if (verb === undefined) {
    only(method, 'GET, HEAD', rawPath);
    return { kind: 'getJob', action: ADMIN_ACTIONS.getJob, id };
  }
  if (verb === 'stop' || verb === 'resume') {
    only(method, 'POST', rawPath);
    return verb === 'stop'
      ? { kind: 'stopJob', action: ADMIN_ACTIONS.stopJob, id }
      : { kind: 'resumeJob', action: ADMIN_ACTIONS.resumeJob, id };
  }
  throw new OpsRouteError(404, 'NotFound', `no admin endpoint ${rawPath}`);
}

/** The body of POST /_predastore/admin/jobs: `{ kind, params? }`, checked. */
export function parseCreateJobBody(text: string): {
  kind: JobKind;
  params: Record<string, string | number | boolean>;
} {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OpsRouteError(
      400,
      'MalformedJSON',
      'the body is not JSON: expected {"kind": "...", "params": {...}}',
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new OpsRouteError(400, 'MalformedJSON', 'expected a JSON object {"kind": "...", "params": {...}}');
  const { kind, params, ...extra } = value as Record<string, unknown>;
  const unknownKeys = Object.keys(extra);
  if (unknownKeys.length > 0)
    throw new OpsRouteError(
      400,
      'InvalidArgument',
      `unknown field ${JSON.stringify(unknownKeys[0])}; expected kind and params`,
    );
  if (typeof kind !== 'string' || !(JOB_KINDS as readonly string[]).includes(kind))
    throw new OpsRouteError(400, 'InvalidJobKind', `kind must be one of ${JOB_KINDS.join(', ')}`);
  const out: Record<string, string | number | boolean> = {};
  if (params !== undefined) {
    if (params === null || typeof params !== 'object' || Array.isArray(params))
      throw new OpsRouteError(
        400,
        'InvalidArgument',
        'params must be an object of strings, numbers and booleans',
      );
    for (const [name, v] of Object.entries(params as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v)))
        throw new OpsRouteError(400, 'InvalidArgument', `params.${name} must be a string, number or boolean`);
      out[name] = v;
    }
  }
  return { kind: kind as JobKind, params: out };
}
