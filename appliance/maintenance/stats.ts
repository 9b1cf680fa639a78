// Counters of one appliance's background work, for metrics (the ops engineer exports them) and
// tests. Plain numbers, only ever increased, except the gauges named as such.

export interface MaintenanceStats {
  applianceId: number;
  repair: {
    /** Repair tasks finished (chunk healthy again, or its version gone). */
    tasksDone: number;
    /** Tasks dropped because their object version no longer exists. */
    tasksDropped: number;
    /** Attempts that could not finish (a node down, too few shards): retried with backoff. */
    attemptsFailed: number;
    shardsRebuilt: number;
    /** Bytes of rebuilt shards written. */
    bytesRebuilt: number;
    /** Bytes read from source shards. */
    bytesRead: number;
    /** Shards written to a replacement appliance (the recorded one is gone). */
    shardsReplaced: number;
    /** Gauge: repair tasks seen in the healer's last full pass over pd.repair. */
    queueLength: number;
    /** Chunks checked by full sweeps (job kind repair). */
    chunksSwept: number;
  };
  gc: { recordsDone: number; shardsDeleted: number; attemptsFailed: number };
  compaction: { runs: number; volumesCompacted: number; reclaimedBytes: number; lastRunAt: number };
  scrub: {
    runs: number;
    bytesScrubbed: number;
    corruptShards: number;
    repairsQueued: number;
    lastRunAt: number;
  };
  orphans: { sweeps: number; candidates: number; shardsDeleted: number };
  jobs: { claimed: number; done: number; failed: number; stopped: number; /** gauge */ running: number };
}

export function emptyStats(applianceId: number): MaintenanceStats {
  return {
    applianceId,
    repair: {
      tasksDone: 0,
      tasksDropped: 0,
      attemptsFailed: 0,
      shardsRebuilt: 0,
      bytesRebuilt: 0,
      bytesRead: 0,
      shardsReplaced: 0,
      queueLength: 0,
      chunksSwept: 0,
    },
    gc: { recordsDone: 0, shardsDeleted: 0, attemptsFailed: 0 },
    compaction: { runs: 0, volumesCompacted: 0, reclaimedBytes: 0, lastRunAt: 0 },
    scrub: { runs: 0, bytesScrubbed: 0, corruptShards: 0, repairsQueued: 0, lastRunAt: 0 },
    orphans: { sweeps: 0, candidates: 0, shardsDeleted: 0 },
    jobs: { claimed: 0, done: 0, failed: 0, stopped: 0, running: 0 },
  };
}

const registry = new Map<number, MaintenanceStats>();

/** The live stats object of appliance `id` in this process (created on first use). */
export function statsFor(applianceId: number): MaintenanceStats {
  let stats = registry.get(applianceId);
  if (stats === undefined) registry.set(applianceId, (stats = emptyStats(applianceId)));
  return stats;
}

/** Snapshots of every appliance's counters in this process (for a metrics endpoint). */
export function maintenanceStats(): MaintenanceStats[] {
  return [...registry.values()].map((s) => structuredClone(s));
}
