import { bucketNameProblem } from './bucket-name.ts';
import type { ProblemList } from './errors.ts';
import { canonicalHost, hostProblem, isWildcardHost } from './hosts.ts';
import type { CheckedConfig } from './normalize.ts';
import type { ClusterConfig } from './types.ts';

/** Rules that involve more than one key: uniqueness, listener clashes, RS vs node count, names. */
export function checkRules(config: ClusterConfig, checked: CheckedConfig, problems: ProblemList): void {
  const at = (section: 'db' | 'nodes' | 'buckets' | 'auth', i: number): string =>
    `${section}[${checked[section]?.[i]?.index ?? i}]`;

  checkHosts(config, checked, problems, at);
  checkUniqueIds(config.dbIsEmbeddedDefault ? [] : config.db.map((d) => d.id), (i) => at('db', i), problems);
  checkUniqueIds(
    config.nodes.map((n) => n.id),
    (i) => at('nodes', i),
    problems,
  );
  checkListeners(config, problems, at);

  const { data, parity } = config.rs;
  // An [rs] with problems of its own was replaced by the default: comparing that to the nodes would mislead.
  const rsIsChecked = !checked.incomplete.has('rs') && !checked.incomplete.has('nodes');
  if (config.nodes.length > 0 && rsIsChecked && data + parity > config.nodes.length)
    problems.add(
      'rs',
      `RS(${data},${parity}) stores each chunk on ${data + parity} different nodes, but only ${config.nodes.length} [[nodes]] are configured`,
    );

  const leaderRows = config.dbIsEmbeddedDefault
    ? []
    : (checked.db ?? []).filter((r) => r.value.leader === true);
  for (const extra of leaderRows.slice(1))
    problems.add(
      `db[${extra.index}].leader`,
      `only one [[db]] entry may be the bootstrap leader; db[${leaderRows[0]?.index}] already is`,
    );

  const bucketSeen = new Map<string, string>();
  config.buckets.forEach((bucket, i) => {
    const where = at('buckets', i);
    const problem = bucketNameProblem(bucket.name);
    if (problem !== null) problems.add(`${where}.name`, problem);
    const first = bucketSeen.get(bucket.name);
    if (first !== undefined)
      problems.add(`${where}.name`, `duplicate bucket "${bucket.name}" (also ${first})`);
    else bucketSeen.set(bucket.name, where);
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(bucket.region))
      problems.add(
        `${where}.region`,
        `must look like a region name such as "us-east-1", got "${bucket.region}"`,
      );
  });

  const keySeen = new Map<string, string>();
  config.auth.forEach((entry, i) => {
    const where = at('auth', i);
    const first = keySeen.get(entry.accessKeyId);
    if (first !== undefined)
      problems.add(`${where}.access_key_id`, `duplicate access key "${entry.accessKeyId}" (also ${first})`);
    else keySeen.set(entry.accessKeyId, where);
    entry.policy.forEach((statement, j) => {
      if (statement.bucket === '*') return;
      const problem = bucketNameProblem(statement.bucket);
      if (problem !== null)
        problems.add(`${where}.policy[${j}].bucket`, `must be "*" or a bucket name: ${problem}`);
    });
  });

  const domain = config.gateway.domain;
  if (domain !== undefined) {
    const problem = hostProblem(domain);
    if (problem !== null) problems.add('gateway.domain', problem);
  }
}

function checkHosts(
  config: ClusterConfig,
  checked: CheckedConfig,
  problems: ProblemList,
  at: (section: 'db' | 'nodes', i: number) => string,
): void {
  const entries = [
    ...(config.dbIsEmbeddedDefault
      ? []
      : (checked.db ?? []).map((r, i) => ({ where: at('db', i), raw: r.value }))),
    ...(checked.nodes ?? []).map((r, i) => ({ where: at('nodes', i), raw: r.value })),
  ];
  for (const { where, raw } of entries) {
    const hostIssue = hostProblem(raw.host);
    if (hostIssue !== null) problems.add(`${where}.host`, hostIssue);
    const advertise = raw.advertise_host;
    if (advertise === undefined || advertise === '') continue;
    if (isWildcardHost(advertise))
      problems.add(
        `${where}.advertise_host`,
        `"${advertise}" binds every interface; other nodes cannot connect to it`,
      );
    else {
      const advertiseIssue = hostProblem(advertise);
      if (advertiseIssue !== null) problems.add(`${where}.advertise_host`, advertiseIssue);
    }
  }
}

function checkUniqueIds(ids: readonly number[], where: (i: number) => string, problems: ProblemList): void {
  const seen = new Map<number, string>();
  ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined) problems.add(`${where(i)}.id`, `duplicate id ${id} (also ${first})`);
    else seen.set(id, where(i));
  });
}

interface Listener {
  readonly host: string;
  readonly port: number;
  /** Key path to report at, or a description when the listener is not in the file. */
  readonly keyPath: string | undefined;
  readonly label: string;
}

/** Two listeners clash when they would be reached at the same advertised host and port. */
function checkListeners(
  config: ClusterConfig,
  problems: ProblemList,
  at: (section: 'db' | 'nodes', i: number) => string,
): void {
  const listeners: Listener[] = [];
  config.db.forEach((d, i) => {
    const host = canonicalHost(d.advertiseHost);
    if (config.dbIsEmbeddedDefault) {
      const label = 'the default embedded s3db (the file has no [[db]])';
      listeners.push({ host, port: d.port, keyPath: undefined, label });
      listeners.push({ host, port: d.raftPort, keyPath: undefined, label });
      return;
    }
    listeners.push({ host, port: d.port, keyPath: `${at('db', i)}.port`, label: `${at('db', i)}.port` });
    listeners.push({
      host,
      port: d.raftPort,
      keyPath: `${at('db', i)}.raft_port`,
      label: `${at('db', i)}.raft_port`,
    });
  });
  config.nodes.forEach((n, i) => {
    const keyPath = `${at('nodes', i)}.port`;
    listeners.push({ host: canonicalHost(n.advertiseHost), port: n.port, keyPath, label: keyPath });
  });

  const seen = new Map<string, Listener>();
  for (const listener of listeners) {
    const id = `${listener.host}:${listener.port}`;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, listener);
      continue;
    }
    const [reportAt, other] = listener.keyPath !== undefined ? [listener, first] : [first, listener];
    problems.add(
      reportAt.keyPath ?? reportAt.label,
      `port ${listener.port} on ${listener.host} is also used by ${other.label}`,
    );
  }
}
