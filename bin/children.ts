// The command lines of a dev cluster's children: each s3db node and each appliance is its own process,
// a re-run of this same CLI with its role on the command line (`-db -db-node N`, `-node N`) so that
// `ps` tells them apart. Pure.
import type { ChildSpec } from '../shared/process/index.ts';
import type { StartPlan } from '../shared/config/plan.ts';

/** Variables that choose parts (spec §2); a child gets its part from its flags only. */
export const PART_VARIABLES = ['CONFIG', 'BACKEND', 'NODE', 'DB_ONLY', 'DB_NODE', 'PORT'] as const;

export interface ChildCommand {
  /** The node binary. */
  execPath: string;
  /** Absolute path of bin/s3d.mjs. */
  s3dPath: string;
  /** Absolute path of the config file (children may not share the parent's idea of relative paths). */
  configPath: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export function childEnvironment(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !(PART_VARIABLES as readonly string[]).includes(name)) out[name] = value;
  return out;
}

export function devChildSpecs(plan: StartPlan, command: ChildCommand): ChildSpec[] {
  const base = [command.s3dPath, '-backend', 'distributed', '-config', command.configPath];
  const env = childEnvironment(command.env);
  const spec = (role: string, args: string[]): ChildSpec => ({
    role,
    command: command.execPath,
    args: [...base, ...args],
    cwd: command.cwd,
    env,
  });
  return [
    ...plan.dbNodes.map((d) => spec(`s3db ${d.id}`, ['-db', '-db-node', String(d.id)])),
    ...plan.shardNodes.map((n) => spec(`node ${n.id}`, ['-node', String(n.id)])),
  ];
}
