import { isIP } from 'node:net';
import { dbNode, isDevMode, shardNode } from './helpers.ts';
import { canonicalHost, isLocalOnlyHost, isLoopbackHost, isWildcardHost } from './hosts.ts';
import type { ClusterConfig, DbNodeConfig, ShardNodeConfig } from './types.ts';

// What one `s3d` process runs, decided from the config and the command line (spec §2, §14).
// Pure: the machine's addresses come in as an argument.

export type Backend = 'filesystem' | 'distributed';

/** The command line, resolved (flag beats environment beats default). Absent = not given. */
export interface StartOptions {
  readonly backend?: Backend;
  /** Shard node id to run; -1 = dev mode. */
  readonly node?: number;
  readonly dbOnly: boolean;
  /** s3db node id to run; -1 = every s3db node of this machine. */
  readonly dbNode?: number;
  /** S3 API port; `portGiven` tells whether it came from -port / PORT or is the default. */
  readonly port: number;
  readonly portGiven: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export type PlanMode = 'filesystem' | 'dev' | 'db-only' | 'member' | 'gateway';

export interface GatewayPlan {
  readonly port: number;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Where objects live with the filesystem backend. */
  readonly filesystemPath?: string;
}

export interface StartPlan {
  readonly config: ClusterConfig;
  readonly backend: Backend;
  /** Why this backend: "-backend", "BACKEND", or what in the config decided it. */
  readonly backendReason: string;
  readonly mode: PlanMode;
  readonly dbNodes: readonly DbNodeConfig[];
  readonly shardNodes: readonly ShardNodeConfig[];
  /** Absent when this process runs no S3 API. */
  readonly gateway?: GatewayPlan;
}

/** The command line asks for something the config cannot give; one line per problem. */
export class PlanError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'PlanError';
    this.problems = problems;
  }
}

/**
 * Decides which parts this process starts:
 * - filesystem backend: the gateway over files under base_path.
 * - `-db`: only s3db — node `-db-node N`, or every s3db node on this machine.
 * - dev mode (`-node -1`, or no part chosen and every host local): every s3db node, every
 *   appliance and the gateway.
 * - otherwise each chosen part: appliance `-node N`, s3db `-db-node N` (-1: this machine's);
 *   the gateway runs when no part is chosen or when -port/PORT asks for it.
 *   Without [[db]], the default embedded s3db runs beside the gateway.
 */
export function planStart(
  config: ClusterConfig,
  options: StartOptions,
  machineAddresses: readonly string[],
  backendSource?: string,
): StartPlan {
  const problems: string[] = [];
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
    problems.push(
      options.tlsCert === undefined
        ? '-tls-key is set but -tls-cert is not; give both or neither'
        : '-tls-cert is set but -tls-key is not; give both or neither',
    );
  const tls = {
    ...(options.tlsCert === undefined ? {} : { tlsCert: options.tlsCert }),
    ...(options.tlsKey === undefined ? {} : { tlsKey: options.tlsKey }),
  };
  const partsChosen = options.node !== undefined || options.dbNode !== undefined || options.dbOnly;
  const [backend, backendReason] =
    options.backend !== undefined
      ? [options.backend, backendSource ?? '-backend']
      : partsChosen
        ? ['distributed' as const, 'implied by -db / -node / -db-node']
        : config.nodes.length > 0 || !config.dbIsEmbeddedDefault
          ? ['distributed' as const, 'the config has [[nodes]] or [[db]]']
          : ['filesystem' as const, 'the config has no [[nodes]] and no [[db]]'];

  const finish = (plan: Omit<StartPlan, 'config' | 'backend' | 'backendReason'>): StartPlan => {
    if (plan.gateway !== undefined) problems.push(...gatewayPortClashes(plan));
    if (problems.length > 0) throw new PlanError(problems);
    return { config, backend, backendReason, ...plan };
  };

  if (backend === 'filesystem') {
    if (partsChosen)
      problems.push(
        '-db, -node and -db-node run parts of the distributed backend; they cannot be used with -backend filesystem',
      );
    return finish({
      mode: 'filesystem',
      dbNodes: [],
      shardNodes: [],
      gateway: { port: options.port, ...tls, filesystemPath: config.basePath },
    });
  }

  const local = new MachineAddresses(machineAddresses);
  const needNodes = (): void => {
    if (config.nodes.length === 0)
      problems.push(
        `${config.file}: nodes: the distributed backend needs [[nodes]] entries (RS(${config.rs.data},${config.rs.parity}) needs at least ${config.rs.data + config.rs.parity}), the file has none`,
      );
  };

  if (options.dbOnly) {
    if (options.node !== undefined && options.node !== -1)
      problems.push(`-db runs only the database; it cannot be combined with -node ${options.node}`);
    return finish({
      mode: 'db-only',
      dbNodes: selectDbNodes(config, options.dbNode ?? -1, local, problems),
      shardNodes: [],
    });
  }

  const dev =
    options.node === -1 || (options.node === undefined && options.dbNode === undefined && isDevMode(config));
  if (dev) {
    const remote = [
      ...config.db
        .filter((d) => !isLocalOnlyHost(d.host) || !isLocalOnlyHost(d.advertiseHost))
        .map((d) => `s3db ${d.id} at ${d.advertiseHost}`),
      ...config.nodes
        .filter((n) => !isLocalOnlyHost(n.host) || !isLocalOnlyHost(n.advertiseHost))
        .map((n) => `node ${n.id} at ${n.advertiseHost}`),
    ];
    if (remote.length > 0)
      problems.push(
        `-node -1 (dev mode) runs every part on this machine, but these are on other hosts: ${remote.join(', ')}`,
      );
    if (options.dbNode !== undefined && options.dbNode !== -1)
      problems.push(
        `-db-node ${options.dbNode} cannot be combined with dev mode (-node -1), which runs every s3db node`,
      );
    needNodes();
    return finish({
      mode: 'dev',
      dbNodes: config.db,
      shardNodes: config.nodes,
      gateway: { port: options.port, ...tls },
    });
  }

  const shardNodes: ShardNodeConfig[] = [];
  if (options.node !== undefined) {
    const node = shardNode(config, options.node);
    if (node === undefined)
      problems.push(
        `-node ${options.node}: ${config.file} has no [[nodes]] entry with id ${options.node}${idList(config.nodes)}`,
      );
    else if (!local.canBind(node.host))
      problems.push(`-node ${options.node}: its host ${node.host} is not an address of this machine`);
    else shardNodes.push(node);
  }
  const dbNodes = options.dbNode === undefined ? [] : selectDbNodes(config, options.dbNode, local, problems);
  const gatewayRuns = (options.node === undefined && options.dbNode === undefined) || options.portGiven;
  if (gatewayRuns) {
    needNodes();
    if (config.dbIsEmbeddedDefault && dbNodes.length === 0) dbNodes.push(...config.db);
  }
  return finish({
    mode: gatewayRuns && shardNodes.length === 0 && options.dbNode === undefined ? 'gateway' : 'member',
    dbNodes,
    shardNodes,
    ...(gatewayRuns ? { gateway: { port: options.port, ...tls } } : {}),
  });
}

function selectDbNodes(
  config: ClusterConfig,
  id: number,
  local: MachineAddresses,
  problems: string[],
): DbNodeConfig[] {
  if (id === -1) {
    const here = config.db.filter((d) => local.isThisMachine(d));
    if (here.length === 0)
      problems.push(
        `-db-node -1: no [[db]] entry in ${config.file} is on this machine; choose one with -db-node <id>${idList(config.db)}`,
      );
    return here;
  }
  const node = dbNode(config, id);
  if (node === undefined) {
    problems.push(
      config.dbIsEmbeddedDefault
        ? `-db-node ${id}: ${config.file} has no [[db]]; the default embedded s3db has id 1`
        : `-db-node ${id}: ${config.file} has no [[db]] entry with id ${id}${idList(config.db)}`,
    );
    return [];
  }
  if (!local.canBind(node.host)) {
    problems.push(`-db-node ${id}: its host ${node.host} is not an address of this machine`);
    return [];
  }
  return [node];
}

function idList(entries: readonly { id: number }[]): string {
  return entries.length === 0 ? '' : ` (ids: ${entries.map((e) => e.id).join(', ')})`;
}

class MachineAddresses {
  readonly #addresses: Set<string>;

  constructor(addresses: readonly string[]) {
    this.#addresses = new Set(addresses.map(canonicalHost));
  }

  /** A host name (not an IP) cannot be checked without DNS; it is given the benefit of the doubt. */
  canBind(host: string): boolean {
    return isLocalOnlyHost(host) || isIP(host) === 0 || this.#addresses.has(canonicalHost(host));
  }

  /** For "-db-node -1": the node's address is this machine's (wildcard binds go by their advertised host). */
  isThisMachine(node: { host: string; advertiseHost: string }): boolean {
    const address = isWildcardHost(node.host) ? node.advertiseHost : node.host;
    return isLoopbackHost(address) || this.#addresses.has(canonicalHost(address));
  }
}

function gatewayPortClashes(plan: Omit<StartPlan, 'config' | 'backend' | 'backendReason'>): string[] {
  const port = plan.gateway?.port;
  if (port === undefined || port === 0) return [];
  const users = [
    ...plan.dbNodes.flatMap((d) => [
      ...(d.port === port ? [`s3db ${d.id} (API)`] : []),
      ...(d.raftPort === port ? [`s3db ${d.id} (Raft)`] : []),
    ]),
    ...plan.shardNodes.filter((n) => n.port === port).map((n) => `node ${n.id}`),
  ];
  return users.map((user) => `-port ${port}: the S3 API port is also used by ${user} in this process`);
}
