import type { MaintenanceConfig } from './maintenance.ts';

/** The normalised cluster configuration: every default filled, every path absolute. */
export interface ClusterConfig {
  /** The config file name as given; used in messages. */
  readonly file: string;
  readonly version: string;
  readonly region: string;
  /** Absolute; `base_path`, or `<cwd>/data` when it is not set. Root of every default path. */
  readonly basePath: string;
  readonly rs: RsConfig;
  /** s3db members. Never empty: with no `[[db]]` it holds the default embedded node (spec §14). */
  readonly db: readonly DbNodeConfig[];
  /** True when `db` is the default embedded node because the file has no `[[db]]`. */
  readonly dbIsEmbeddedDefault: boolean;
  /** Shard nodes (appliances), in file order. */
  readonly nodes: readonly ShardNodeConfig[];
  readonly buckets: readonly BucketConfig[];
  readonly auth: readonly AuthConfig[];
  readonly transport: TransportConfig;
  readonly ring: RingConfig;
  readonly store: StoreConfig;
  readonly gateway: GatewayConfig;
  readonly tls: TlsConfig;
  /** [maintenance]: the appliances' background work (shared/config/maintenance.ts); defaults via maintenanceOf(). */
  readonly maintenance?: MaintenanceConfig;
}

export interface RsConfig {
  /** k: data shards per chunk, 1..24. */
  readonly data: number;
  /** m: parity shards per chunk, 1..6. */
  readonly parity: number;
}

export interface DbNodeConfig {
  readonly id: number;
  /** Bind address (may be a wildcard such as 0.0.0.0). */
  readonly host: string;
  /** HTTPS REST API port. */
  readonly port: number;
  /** Raft transport port; `port + 1000` unless set. */
  readonly raftPort: number;
  /** Address other nodes connect to: `advertise_host`, else `host`, else 127.0.0.1 for 0.0.0.0. */
  readonly advertiseHost: string;
  /** Absolute data directory. */
  readonly path: string;
  /** Bootstrap leader hint; exactly one db node has it (the lowest id when the file names none). */
  readonly leader: boolean;
  /** s3db SigV4 credentials; the same on every db node. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** `metrics_port` when the file sets it (0 = off); absent means the default, port + 2000. */
  readonly metricsPort?: number;
}

export interface ShardNodeConfig {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly advertiseHost: string;
  /** Absolute data directory of the node's shard store. */
  readonly path: string;
  /** `metrics_port` when the file sets it (0 = off); absent means the default, port + 2000. */
  readonly metricsPort?: number;
}

export type BucketType = 'distributed' | 'filesystem';

export interface BucketConfig {
  readonly name: string;
  /** The bucket's `region`, else the cluster's. */
  readonly region: string;
  /** Absent when the file does not say: the bucket lives on whatever backend runs. */
  readonly type?: BucketType;
  readonly public: boolean;
  /** "" (none) or "AES256". */
  readonly encryption: '' | 'AES256';
}

export interface PolicyStatement {
  /** A bucket name or `*` (every bucket). */
  readonly bucket: string;
  /** IAM-style actions: `s3:GetObject`, `s3:Get*`, `s3:*`; `admin:*` style for the admin API. */
  readonly actions: readonly string[];
}

export interface AuthConfig {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** 12 digits; "000000000000" when not set. */
  readonly accountId: string;
  /** Empty when the file gives none; what that allows is the gateway's auth policy decision. */
  readonly policy: readonly PolicyStatement[];
}

export type TransportKind = 'tls' | 'quic';

export interface TransportConfig {
  /** Shard protocol transport between gateway and appliances. */
  readonly kind: TransportKind;
}

export interface RingConfig {
  /** Virtual nodes per shard node on the placement ring. */
  readonly vnodes: number;
}

export type Compression = 'lz4' | 'none';

export interface StoreConfig {
  readonly volumeSizeMb: number;
  /** `volumeSizeMb` in bytes. */
  readonly volumeSizeBytes: number;
  readonly compression: Compression;
  /** A volume is compacted once this fraction of it is garbage. */
  readonly compactionGarbageRatio: number;
}

export interface GatewayConfig {
  /** Base domain for virtual-hosted-style requests (`bucket.domain`); path-style always works. */
  readonly domain?: string;
  /** Upper bound on chunks being encoded or transferred at once per request. */
  readonly maxChunksInFlight: number;
  /** `[gateway] inline_max_bytes` when set (distributed backend; its default applies otherwise). */
  readonly inlineMaxBytes?: number;
}

export interface TlsConfig {
  /** Absolute directory of the cluster CA and node certificates. */
  readonly dir: string;
}
