// The `[maintenance]` section: the appliances' background work (job runner, healer, garbage worker,
// compaction, scrub, orphan sweep). Times are seconds (fractions allowed, so tests can run fast).
import { z } from 'zod';

const seconds = z.number().positive().max(31_536_000);
/** 0 turns the schedule off. */
const interval = z.number().min(0).max(31_536_000);

export const MaintenanceSchema = z.strictObject({
  enabled: z.boolean().optional(),
  job_poll_seconds: seconds.optional(),
  job_lease_seconds: seconds.optional(),
  repair_poll_seconds: seconds.optional(),
  repair_mb_per_second: z.number().positive().max(100_000).optional(),
  repair_concurrency: z.number().int().min(1).max(64).optional(),
  repair_retry_base_seconds: seconds.optional(),
  repair_retry_max_seconds: seconds.optional(),
  gc_poll_seconds: seconds.optional(),
  gc_deletes_per_second: z.number().int().min(1).max(1_000_000).optional(),
  compact_interval_seconds: interval.optional(),
  scrub_interval_seconds: interval.optional(),
  orphan_grace_seconds: seconds.optional(),
  orphan_sweep_interval_seconds: interval.optional(),
});

export interface MaintenanceConfig {
  /** Run the job runner and the schedules in every appliance process. */
  readonly enabled: boolean;
  readonly jobPollMs: number;
  readonly jobLeaseMs: number;
  readonly repairPollMs: number;
  /** Bytes per second the healer reads + writes at most (per appliance). */
  readonly repairBytesPerSecond: number;
  /** Chunks repaired at once per appliance. */
  readonly repairConcurrency: number;
  readonly repairRetryBaseMs: number;
  readonly repairRetryMaxMs: number;
  readonly gcPollMs: number;
  readonly gcDeletesPerSecond: number;
  /** 0 = never. */
  readonly compactIntervalMs: number;
  /** 0 = never. */
  readonly scrubIntervalMs: number;
  /** A shard with no record is deleted only once it has been seen orphaned for this long. */
  readonly orphanGraceMs: number;
  /** 0 = never. */
  readonly orphanSweepIntervalMs: number;
}

export const MAINTENANCE_DEFAULTS: MaintenanceConfig = Object.freeze({
  enabled: true,
  jobPollMs: 3000,
  jobLeaseMs: 30_000,
  repairPollMs: 2000,
  repairBytesPerSecond: 50 * 1024 * 1024,
  repairConcurrency: 2,
  repairRetryBaseMs: 1000,
  repairRetryMaxMs: 300_000,
  gcPollMs: 2000,
  gcDeletesPerSecond: 500,
  compactIntervalMs: 600_000,
  scrubIntervalMs: 7 * 24 * 3600_000,
  orphanGraceMs: 3600_000,
  orphanSweepIntervalMs: 3600_000,
});

export function normalizeMaintenance(raw: z.infer<typeof MaintenanceSchema> | undefined): MaintenanceConfig {
  const d = MAINTENANCE_DEFAULTS;
  const ms = (value: number | undefined, fallback: number): number =>
    value === undefined ? fallback : Math.round(value * 1000);
  return {
    enabled: raw?.enabled ?? d.enabled,
    jobPollMs: ms(raw?.job_poll_seconds, d.jobPollMs),
    jobLeaseMs: ms(raw?.job_lease_seconds, d.jobLeaseMs),
    repairPollMs: ms(raw?.repair_poll_seconds, d.repairPollMs),
    repairBytesPerSecond:
      raw?.repair_mb_per_second === undefined
        ? d.repairBytesPerSecond
        : Math.round(raw.repair_mb_per_second * 1024 * 1024),
    repairConcurrency: raw?.repair_concurrency ?? d.repairConcurrency,
    repairRetryBaseMs: ms(raw?.repair_retry_base_seconds, d.repairRetryBaseMs),
    repairRetryMaxMs: ms(raw?.repair_retry_max_seconds, d.repairRetryMaxMs),
    gcPollMs: ms(raw?.gc_poll_seconds, d.gcPollMs),
    gcDeletesPerSecond: raw?.gc_deletes_per_second ?? d.gcDeletesPerSecond,
    compactIntervalMs: ms(raw?.compact_interval_seconds, d.compactIntervalMs),
    scrubIntervalMs: ms(raw?.scrub_interval_seconds, d.scrubIntervalMs),
    orphanGraceMs: ms(raw?.orphan_grace_seconds, d.orphanGraceMs),
    orphanSweepIntervalMs: ms(raw?.orphan_sweep_interval_seconds, d.orphanSweepIntervalMs),
  };
}

/** The maintenance settings of a config (defaults when the config was built without the section). */
export function maintenanceOf(config: { readonly maintenance?: MaintenanceConfig }): MaintenanceConfig {
  return config.maintenance ?? MAINTENANCE_DEFAULTS;
}
