// The job runner every appliance process starts: polls pd.jobs, claims queued jobs (and jobs whose
// lease expired, and its own from before a restart) by compare-and-set, runs the executor of the
// job's kind, renews the lease and saves progress + cursor every few seconds, honours stop requests
// ('stopping' → cursor saved → 'stopped'), and on shutdown hands the job back ('queued', cursor kept)
// so another appliance resumes it at once.
import { JobConflictError, claimJob, isClaimable, listJobs, renewJob } from '../../shared/jobs/index.ts';
import type { JobPatch, JobRecord, JobsDb } from '../../shared/jobs/index.ts';
import { JobAbortError } from './registry.ts';
import type { JobContext, JobExecutor, ProgressPatch } from './registry.ts';
import { realClock } from './rate-limit.ts';
import type { MaintenanceStats } from './stats.ts';

export interface RunnerDeps {
  db: JobsDb;
  /** Owner name written into claimed jobs: the appliance id. */
  owner: string;
  pollMs: number;
  leaseMs: number;
  /** Jobs run at once by this appliance. Default 2. */
  maxConcurrent?: number;
  executor(kind: JobRecord['kind']): JobExecutor | undefined;
  context(job: JobRecord, signal: AbortSignal, progress: (patch: ProgressPatch) => void): JobContext;
  stats: MaintenanceStats;
  log(line: string): void;
}

type EndReason = 'stop' | 'shutdown' | 'lost';

interface Running {
  record: JobRecord;
  controller: AbortController;
  reason?: EndReason;
  pending: ProgressPatch;
  saving: Promise<void>;
  finished: Promise<void>;
}

const FINAL_SAVE_ATTEMPTS = 10;

/** The job's `node` parameter, if it names one appliance that must run it. */
export function jobNode(job: Pick<JobRecord, 'params'>): string | undefined {
  const node = job.params['node'];
  return node === undefined ? undefined : String(node);
}

export class JobRunner {
  private readonly active = new Map<string, Running>();
  private stopped = false;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: RunnerDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Ids of the jobs running here now. */
  get running(): string[] {
    return [...this.active.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error('job runner stopped'));
    for (const job of this.active.values()) this.end(job, 'shutdown');
    await this.loop;
    await Promise.all([...this.active.values()].map((j) => j.finished));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.pollOnce();
      } catch (error) {
        if (!this.stopped) this.deps.log(`jobs: poll failed: ${String(error)}`);
      }
      await realClock.sleep(this.deps.pollMs, this.stopping.signal).catch(() => undefined);
    }
  }

  /** Looks for jobs this appliance can take and starts them. */
  async pollOnce(): Promise<void> {
    const max = this.deps.maxConcurrent ?? 2;
    if (this.stopped || this.active.size >= max) return;
    const jobs = await listJobs(this.deps.db, {
      states: ['queued', 'running', 'stopping'],
      limit: 10_000,
      stale: true,
    });
    for (const job of jobs.reverse()) {
      if (this.stopped || this.active.size >= max) return;
      if (this.active.has(job.id)) continue;
      const node = jobNode(job);
      if (node !== undefined && node !== this.deps.owner) continue;
      if (this.deps.executor(job.kind) === undefined) continue;
      const own = (job.state === 'running' || job.state === 'stopping') && job.owner === this.deps.owner;
      if (!own && !isClaimable(job, Date.now())) continue;
      const claimed = await claimJob(this.deps.db, job.id, this.deps.owner, this.deps.leaseMs);
      if (claimed === undefined || this.stopped) continue;
      this.deps.stats.jobs.claimed++;
      this.launch(claimed);
    }
  }

  private launch(claimed: JobRecord): void {
    const controller = new AbortController();
    const job: Running = {
      record: claimed,
      controller,
      pending: {},
      saving: Promise.resolve(),
      finished: Promise.resolve(),
    };
    this.active.set(claimed.id, job);
    this.deps.stats.jobs.running = this.active.size;
    job.finished = this.execute(job).finally(() => {
      this.active.delete(claimed.id);
      this.deps.stats.jobs.running = this.active.size;
    });
  }

  private end(job: Running, reason: EndReason): void {
    job.reason ??= reason;
    job.controller.abort(new JobAbortError(job.reason, job.record.id));
  }

  private async execute(job: Running): Promise<void> {
    const { id, kind } = job.record;
    if (job.record.state === 'stopping') {
      // Claimed after its previous owner died while stopping: nothing to run, just settle it.
      await this.finalSave(job, { state: 'stopped', leaseUntil: undefined });
      this.deps.stats.jobs.stopped++;
      return;
    }
    const executor = this.deps.executor(kind) as JobExecutor;
    this.deps.log(`jobs: running ${kind} job ${id}${job.record.cursor ? ' (resuming)' : ''}`);
    const beat = setInterval(() => this.save(job), Math.max(100, Math.floor(this.deps.leaseMs / 3)));
    let result: Record<string, number | string> | void = undefined;
    let failure: unknown;
    try {
      const ctx = this.deps.context(job.record, job.controller.signal, (patch) => {
        Object.assign(job.pending, patch);
      });
      result = await executor(ctx);
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(beat);
    }
    await job.saving;
    const progress = this.progressPatch(job);
    switch (job.reason) {
      case 'lost':
        this.deps.log(`jobs: ${kind} job ${id} was taken over or deleted; left it`);
        return;
      case 'shutdown':
        await this.finalSave(job, { ...progress, state: 'queued', owner: undefined, leaseUntil: undefined });
        return;
      case 'stop':
        await this.finalSave(job, { ...progress, state: 'stopped', leaseUntil: undefined });
        this.deps.stats.jobs.stopped++;
        this.deps.log(`jobs: ${kind} job ${id} stopped`);
        return;
    }
    if (failure !== undefined) {
      const message = failure instanceof Error ? failure.message : String(failure);
      await this.finalSave(job, {
        ...progress,
        state: 'failed',
        error: message.slice(0, 1000),
        leaseUntil: undefined,
      });
      this.deps.stats.jobs.failed++;
      this.deps.log(`jobs: ${kind} job ${id} failed: ${message}`);
      return;
    }
    await this.finalSave(job, {
      ...progress,
      state: 'done',
      leaseUntil: undefined,
      ...(result ? { result } : {}),
    });
    this.deps.stats.jobs.done++;
    this.deps.log(`jobs: ${kind} job ${id} done${result ? ` ${JSON.stringify(result)}` : ''}`);
  }

  private progressPatch(job: Running): JobPatch {
    const { cursor, ...progress } = job.pending;
    const patch: JobPatch = { progress: { ...job.record.progress, ...progress } };
    if (cursor !== undefined) patch.cursor = cursor;
    return patch;
  }

  /** Heartbeat: lease + progress; learns about stop requests and takeovers through the CAS. */
  private save(job: Running): void {
    job.saving = job.saving.then(async () => {
      if (job.reason === 'lost') return;
      try {
        job.record = await renewJob(this.deps.db, job.record, {
          ...this.progressPatch(job),
          leaseUntil: Date.now() + this.deps.leaseMs,
        });
      } catch (error) {
        if (!(error instanceof JobConflictError)) {
          this.deps.log(`jobs: could not renew job ${job.record.id}: ${String(error)}`);
          return;
        }
        const current = error.current;
        if (current === undefined || current.owner !== this.deps.owner) return this.end(job, 'lost');
        job.record = current;
        if (current.state === 'stopping') this.end(job, 'stop');
      }
    });
  }

  private async finalSave(job: Running, patch: JobPatch): Promise<void> {
    for (let attempt = 0; attempt < FINAL_SAVE_ATTEMPTS; attempt++) {
      try {
        job.record = await renewJob(this.deps.db, job.record, patch);
        return;
      } catch (error) {
        if (error instanceof JobConflictError) {
          const current = error.current;
          if (current === undefined || current.owner !== this.deps.owner) return;
          job.record = current;
          continue;
        }
        this.deps.log(`jobs: could not save job ${job.record.id}: ${String(error)}`);
        await realClock.sleep(Math.min(5000, 200 * 2 ** attempt)).catch(() => undefined);
      }
    }
  }
}
