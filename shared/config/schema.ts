import { z } from 'zod';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../erasure/scheme.ts';
import { MaintenanceSchema } from './maintenance.ts';

// The raw shape of the TOML file (spec §2, §15, plus the sections DESIGN.md adds).
// Every table is strict: an unknown key is an error, because a misspelt key would
// otherwise silently fall back to a default. Defaults and cross-field rules live in
// normalize.ts and rules.ts; this file only says which keys exist and their types.

const port = z.number().int().min(1).max(65535);
const nodeId = z.number().int().min(0).max(1_000_000);
const hostText = z.string();

// The limits are the erasure codec's, so a config that validates is one the codec accepts.
export const RsSchema = z.strictObject({
  data: z.number().int().min(1).max(MAX_DATA_SHARDS),
  parity: z
    .number()
    .int()
    .max(MAX_PARITY_SHARDS)
    .refine((m) => m >= 1, {
      error: (issue) =>
        `must be at least 1, got ${String(issue.input)}: with no parity shard one lost node loses data, and a write needs k+1 durable shards`,
    }),
});

export const DbSchema = z.strictObject({
  id: z.number().int().min(1).max(1_000_000),
  host: hostText,
  port: port.optional(),
  raft_port: port.optional(),
  advertise_host: hostText.optional(),
  path: z.string().min(1).optional(),
  leader: z.boolean().optional(),
  access_key_id: z.string().min(1).optional(),
  secret_access_key: z.string().min(1).optional(),
  /** Prometheus metrics listener (docs/operations.md): default port + 2000; 0 turns it off. */
  metrics_port: z.number().int().min(0).max(65535).optional(),
});

export const ShardNodeSchema = z.strictObject({
  id: nodeId,
  host: hostText,
  port,
  advertise_host: hostText.optional(),
  path: z.string().min(1).optional(),
  /** Prometheus metrics listener (docs/operations.md): default port + 2000; 0 turns it off. */
  metrics_port: z.number().int().min(0).max(65535).optional(),
});

export const BucketSchema = z.strictObject({
  name: z.string(),
  region: z.string().optional(),
  type: z.enum(['distributed', 'filesystem']).optional(),
  public: z.boolean().optional(),
  encryption: z.enum(['', 'AES256']).optional(),
});

export const PolicySchema = z.strictObject({
  bucket: z.string(),
  actions: z
    .array(
      // admin:* actions grant the admin API (docs/operations.md); they never come from s3:* or `*`.
      z
        .string()
        .regex(/^(s3|admin):(\*|[A-Za-z]+\*?)$/, 'must look like "s3:GetObject", "s3:Get*" or "s3:*"'),
    )
    .min(1),
});

export const AuthSchema = z.strictObject({
  access_key_id: z
    .string()
    .regex(/^[A-Za-z0-9]{3,128}$/, 'must be 3 to 128 letters and digits (like AKIAIOSFODNN7EXAMPLE)'),
  secret_access_key: z.string().min(8),
  account_id: z
    .string()
    .regex(/^[0-9]{12}$/, 'must be 12 digits')
    .optional(),
  policy: z.array(PolicySchema).optional(),
});

export const TransportSchema = z.strictObject({
  kind: z.enum(['tls', 'quic']).optional(),
});

export const RingSchema = z.strictObject({
  vnodes: z.number().int().min(1).max(4096).optional(),
});

export const StoreSchema = z.strictObject({
  volume_size_mb: z.number().int().min(1).max(1_048_576).optional(),
  compression: z.enum(['lz4', 'none']).optional(),
  compaction_garbage_ratio: z.number().gt(0).max(1).optional(),
});

export const GatewaySchema = z.strictObject({
  domain: z.string().optional(),
  max_chunks_in_flight: z.number().int().min(1).max(1024).optional(),
  /** Objects of at most this many bytes are stored inline in their s3db record (0 = never). */
  inline_max_bytes: z.number().int().min(0).max(65536).optional(),
});

export const TlsSchema = z.strictObject({
  dir: z.string().min(1).optional(),
});

export const RawConfigSchema = z.strictObject({
  version: z.enum(['1.0']).optional(),
  region: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must look like a region name such as "us-east-1"')
    .optional(),
  base_path: z.string().min(1).optional(),
  rs: RsSchema.optional(),
  db: z.array(DbSchema).optional(),
  nodes: z.array(ShardNodeSchema).optional(),
  buckets: z.array(BucketSchema).optional(),
  auth: z.array(AuthSchema).optional(),
  transport: TransportSchema.optional(),
  ring: RingSchema.optional(),
  store: StoreSchema.optional(),
  gateway: GatewaySchema.optional(),
  tls: TlsSchema.optional(),
  maintenance: MaintenanceSchema.optional(),
});

export type RawConfig = z.infer<typeof RawConfigSchema>;
