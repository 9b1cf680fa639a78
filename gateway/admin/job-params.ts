// Checks the params of a new job against what its executor needs, so a mistake is a clear 400 now
// rather than a failed job later (pure). Executors validate again; this only catches the obvious.
import type { JobKind } from '../../shared/jobs/index.ts';
import { OpsRouteError } from './routes.ts';

type Params = Record<string, string | number | boolean>;

function wholeNumber(params: Params, name: string, min: number, max: number): void {
  const v = params[name];
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new OpsRouteError(400, 'InvalidArgument', `params.${name} must be a whole number ${min}..${max}`);
  params[name] = n;
}

/** Returns the params to store (numbers given as digits become numbers). */
export function checkJobParams(kind: JobKind, input: Params, nodeIds: readonly string[]): Params {
  const params = { ...input };
  if (kind === 'drain') {
    const node = params['node'];
    if (node === undefined)
      throw new OpsRouteError(400, 'InvalidArgument', 'a drain job needs params.node (the appliance id)');
    if (!nodeIds.includes(String(node)))
      throw new OpsRouteError(
        400,
        'InvalidArgument',
        `params.node ${JSON.stringify(node)} is not an appliance of the config (${nodeIds.join(', ')})`,
      );
    params['node'] = String(node);
  }
  if (kind === 'migrate-rs') {
    wholeNumber(params, 'k', 1, 24);
    wholeNumber(params, 'm', 1, 6);
  }
  if ((kind === 'scrub' || kind === 'compact') && params['node'] !== undefined) {
    if (!nodeIds.includes(String(params['node'])))
      throw new OpsRouteError(
        400,
        'InvalidArgument',
        `params.node ${JSON.stringify(params['node'])} is not an appliance of the config`,
      );
    params['node'] = String(params['node']);
  }
  return params;
}
