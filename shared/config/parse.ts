import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { ConfigError, ProblemList } from './errors.ts';
import { checkSection, describeValue, reportUnknownKey } from './issues.ts';
import { normalizeConfig } from './normalize.ts';
import { checkRules } from './rules.ts';
import {
  AuthSchema,
  BucketSchema,
  DbSchema,
  GatewaySchema,
  RawConfigSchema,
  RingSchema,
  RsSchema,
  ShardNodeSchema,
  StoreSchema,
  TlsSchema,
  TransportSchema,
} from './schema.ts';
import type { CheckedConfig } from './normalize.ts';
import { MaintenanceSchema } from './maintenance.ts';
import type { ClusterConfig } from './types.ts';

export interface ParseOptions {
  /** Folder that relative paths in the file are resolved against; default: the process's working directory. */
  readonly cwd?: string;
}

/**
 * Parses and validates the text of a cluster TOML file. Pure apart from reading `process.cwd()`
 * when no `cwd` is given. Throws `ConfigError` listing every problem found.
 */
export function parseConfig(text: string, fileName: string, options: ParseOptions = {}): ClusterConfig {
  const problems = new ProblemList(fileName);
  let document: Record<string, unknown>;
  try {
    document = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const what = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw new ConfigError([
        `${fileName}: line ${error.line}, column ${error.column}: invalid TOML: ${what}`,
      ]);
    }
    throw error;
  }

  const checked = checkDocument(document, problems);
  const config = normalizeConfig(checked, options.cwd ?? process.cwd(), fileName, problems);
  checkRules(config, checked, problems);
  problems.throwIfAny();
  return config;
}

const TABLES: Record<string, z.ZodType> = {
  rs: RsSchema,
  transport: TransportSchema,
  ring: RingSchema,
  store: StoreSchema,
  gateway: GatewaySchema,
  tls: TlsSchema,
  maintenance: MaintenanceSchema,
};
const ARRAYS: Record<string, z.ZodType> = {
  db: DbSchema,
  nodes: ShardNodeSchema,
  buckets: BucketSchema,
  auth: AuthSchema,
};
const SCALARS = ['version', 'region', 'base_path'] as const;

/**
 * Validates the document section by section, so one bad entry does not hide the problems of
 * the others: what is valid is kept (and checked further), what is not is reported and dropped.
 * `incomplete` names the arrays that lost an entry, so count-based rules can stay quiet about them.
 */
function checkDocument(document: Record<string, unknown>, problems: ProblemList): CheckedConfig {
  const shape = RawConfigSchema.shape;
  const known = Object.keys(shape);
  const raw: Record<string, unknown> = {};
  const incomplete = new Set<string>();

  for (const key of Object.keys(document)) {
    if (!known.includes(key)) reportUnknownKey([key], known, problems);
  }
  for (const key of SCALARS) {
    if (document[key] === undefined) continue;
    const value = checkSection(shape[key], document[key], [key], problems);
    if (value !== undefined) raw[key] = value;
  }
  for (const [key, schema] of Object.entries(TABLES)) {
    if (document[key] === undefined) continue;
    const value = checkSection(schema, document[key], [key], problems);
    if (value !== undefined) raw[key] = value;
    else incomplete.add(key);
  }
  for (const [key, schema] of Object.entries(ARRAYS)) {
    const value = document[key];
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      problems.add(key, `must be an array of tables ([[${key}]] entries), got ${describeValue(value)}`);
      incomplete.add(key);
      continue;
    }
    const entries: { index: number; value: unknown }[] = [];
    value.forEach((entry: unknown, index) => {
      const parsed = checkSection(schema, entry, [key, index], problems);
      if (parsed !== undefined) entries.push({ index, value: parsed });
      else incomplete.add(key);
    });
    raw[key] = entries;
  }
  return { ...(raw as Omit<CheckedConfig, 'incomplete'>), incomplete };
}
