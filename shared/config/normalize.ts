import { resolve } from 'node:path';
import type { z } from 'zod';
import type { ProblemList } from './errors.ts';
import { defaultAdvertiseHost } from './hosts.ts';
import type {
  AuthSchema,
  BucketSchema,
  DbSchema,
  GatewaySchema,
  RingSchema,
  RsSchema,
  ShardNodeSchema,
  StoreSchema,
  TlsSchema,
  TransportSchema,
} from './schema.ts';
import type { AuthConfig, BucketConfig, ClusterConfig, DbNodeConfig, ShardNodeConfig } from './types.ts';
import { normalizeMaintenance } from './maintenance.ts';
import type { MaintenanceSchema } from './maintenance.ts';

/** An array-of-tables entry that passed the schema, with its position in the file. */
export interface Row<T> {
  readonly index: number;
  readonly value: T;
}

/** The file after schema checks: valid parts only, entries remembering where they came from. */
export interface CheckedConfig {
  readonly version?: string;
  readonly region?: string;
  readonly base_path?: string;
  readonly rs?: z.infer<typeof RsSchema>;
  readonly transport?: z.infer<typeof TransportSchema>;
  readonly ring?: z.infer<typeof RingSchema>;
  readonly store?: z.infer<typeof StoreSchema>;
  readonly gateway?: z.infer<typeof GatewaySchema>;
  readonly tls?: z.infer<typeof TlsSchema>;
  readonly maintenance?: z.infer<typeof MaintenanceSchema>;
  readonly db?: readonly Row<z.infer<typeof DbSchema>>[];
  readonly nodes?: readonly Row<z.infer<typeof ShardNodeSchema>>[];
  readonly buckets?: readonly Row<z.infer<typeof BucketSchema>>[];
  readonly auth?: readonly Row<z.infer<typeof AuthSchema>>[];
  /** Sections or arrays that lost a part to a schema problem. */
  readonly incomplete: ReadonlySet<string>;
}

export const DEFAULTS = {
  version: '1.0',
  region: 'us-east-1',
  basePath: 'data',
  rs: { data: 2, parity: 1 },
  dbPort: 6660,
  raftPortOffset: 1000,
  dbCredentials: { accessKeyId: 'predastore', secretAccessKey: 'predastore' },
  accountId: '000000000000',
  transportKind: 'tls',
  vnodes: 128,
  volumeSizeMb: 1024,
  compression: 'none',
  compactionGarbageRatio: 0.5,
  maxChunksInFlight: 16,
} as const;

const MAX_PORT = 65535;

/**
 * Fills every default (spec §2, §14, §15 and DESIGN.md): raft ports, advertise hosts, paths,
 * the embedded s3db when there is no [[db]], one bootstrap leader, shared s3db credentials.
 * Relative paths resolve against `cwd`. Problems that only show once defaults are applied
 * (a computed raft port above 65535, conflicting credentials) go to `problems`.
 */
export function normalizeConfig(
  checked: CheckedConfig,
  cwd: string,
  file: string,
  problems: ProblemList,
): ClusterConfig {
  const region = checked.region ?? DEFAULTS.region;
  const basePath = resolve(cwd, checked.base_path ?? DEFAULTS.basePath);
  const auth = (checked.auth ?? []).map(({ value }): AuthConfig => ({
    accessKeyId: value.access_key_id,
    secretAccessKey: value.secret_access_key,
    accountId: value.account_id ?? DEFAULTS.accountId,
    policy: (value.policy ?? []).map((p) => ({ bucket: p.bucket, actions: [...p.actions] })),
  }));

  const dbRows = checked.db ?? [];
  const dbIsEmbeddedDefault = dbRows.length === 0 && !checked.incomplete.has('db');
  const credentials = dbCredentials(dbRows, auth, problems);
  const db: DbNodeConfig[] = dbIsEmbeddedDefault
    ? [
        {
          id: 1,
          host: '127.0.0.1',
          port: DEFAULTS.dbPort,
          raftPort: DEFAULTS.dbPort + DEFAULTS.raftPortOffset,
          advertiseHost: '127.0.0.1',
          path: resolve(basePath, 'db'),
          leader: true,
          ...credentials,
        },
      ]
    : dbRows.map(({ index, value }) => {
        const port = value.port ?? DEFAULTS.dbPort;
        const raftPort = value.raft_port ?? port + DEFAULTS.raftPortOffset;
        if (value.raft_port === undefined && raftPort > MAX_PORT)
          problems.add(
            `db[${index}].raft_port`,
            `defaults to port + ${DEFAULTS.raftPortOffset} = ${raftPort}, above ${MAX_PORT}; set raft_port`,
          );
        return {
          id: value.id,
          host: value.host,
          port,
          raftPort,
          advertiseHost: advertiseHost(value.host, value.advertise_host),
          path:
            value.path === undefined ? resolve(basePath, 'db', `node-${value.id}`) : resolve(cwd, value.path),
          leader: value.leader ?? false,
          ...credentials,
          ...(value.metrics_port === undefined ? {} : { metricsPort: value.metrics_port }),
        };
      });
  const leaders = db.filter((d) => d.leader);
  if (leaders.length === 0 && db.length > 0) {
    const lowest = db.reduce((a, b) => (b.id < a.id ? b : a));
    db[db.indexOf(lowest)] = { ...lowest, leader: true };
  }

  const nodes = (checked.nodes ?? []).map(({ value }): ShardNodeConfig => ({
    id: value.id,
    host: value.host,
    port: value.port,
    advertiseHost: advertiseHost(value.host, value.advertise_host),
    path:
      value.path === undefined ? resolve(basePath, 'nodes', `node-${value.id}`) : resolve(cwd, value.path),
    ...(value.metrics_port === undefined ? {} : { metricsPort: value.metrics_port }),
  }));

  const buckets = (checked.buckets ?? []).map(({ value }): BucketConfig => ({
    name: value.name,
    region: value.region ?? region,
    ...(value.type === undefined ? {} : { type: value.type }),
    public: value.public ?? false,
    encryption: value.encryption ?? '',
  }));

  const volumeSizeMb = checked.store?.volume_size_mb ?? DEFAULTS.volumeSizeMb;
  const domain = checked.gateway?.domain;
  return {
    file,
    version: checked.version ?? DEFAULTS.version,
    region,
    basePath,
    rs: checked.rs ?? { ...DEFAULTS.rs },
    db,
    dbIsEmbeddedDefault,
    nodes,
    buckets,
    auth,
    transport: { kind: checked.transport?.kind ?? DEFAULTS.transportKind },
    ring: { vnodes: checked.ring?.vnodes ?? DEFAULTS.vnodes },
    store: {
      volumeSizeMb,
      volumeSizeBytes: volumeSizeMb * 1024 * 1024,
      compression: checked.store?.compression ?? DEFAULTS.compression,
      compactionGarbageRatio: checked.store?.compaction_garbage_ratio ?? DEFAULTS.compactionGarbageRatio,
    },
    gateway: {
      ...(domain === undefined || domain === '' ? {} : { domain: domain.toLowerCase() }),
      maxChunksInFlight: checked.gateway?.max_chunks_in_flight ?? DEFAULTS.maxChunksInFlight,
      ...(checked.gateway?.inline_max_bytes === undefined
        ? {}
        : { inlineMaxBytes: checked.gateway.inline_max_bytes }),
    },
    tls: { dir: checked.tls?.dir === undefined ? resolve(basePath, 'tls') : resolve(cwd, checked.tls.dir) },
    maintenance: normalizeMaintenance(checked.maintenance),
  };
}

function advertiseHost(host: string, advertise: string | undefined): string {
  return advertise === undefined || advertise === '' ? defaultAdvertiseHost(host) : advertise;
}

/**
 * s3db clients sign with one key pair, so every [[db]] entry that names credentials must name
 * the same ones. Without any: the first [[auth]] entry's, else predastore:predastore (spec §14).
 */
function dbCredentials(
  rows: CheckedConfig['db'] & object,
  auth: readonly AuthConfig[],
  problems: ProblemList,
): { accessKeyId: string; secretAccessKey: string } {
  let chosen: { accessKeyId: string; secretAccessKey: string; index: number } | undefined;
  for (const { index, value } of rows) {
    const key = value.access_key_id;
    const secret = value.secret_access_key;
    if (key !== undefined && secret === undefined) {
      problems.add(
        `db[${index}].secret_access_key`,
        'missing: access_key_id is set, so its secret is required',
      );
      continue;
    }
    if (key === undefined && secret !== undefined) {
      problems.add(
        `db[${index}].access_key_id`,
        'missing: secret_access_key is set, so its key id is required',
      );
      continue;
    }
    if (key === undefined || secret === undefined) continue;
    if (chosen === undefined) chosen = { accessKeyId: key, secretAccessKey: secret, index };
    else if (chosen.accessKeyId !== key || chosen.secretAccessKey !== secret)
      problems.add(
        `db[${index}].access_key_id`,
        `differs from db[${chosen.index}]'s credentials; every s3db node must use the same key pair`,
      );
  }
  if (chosen !== undefined)
    return { accessKeyId: chosen.accessKeyId, secretAccessKey: chosen.secretAccessKey };
  const first = auth[0];
  if (first !== undefined) return { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey };
  return { ...DEFAULTS.dbCredentials };
}
