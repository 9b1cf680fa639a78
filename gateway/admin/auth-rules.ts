// Who may use the admin API and the status page (pure). An `[[auth]]` key is an admin only through
// policy statements that name `admin:` actions explicitly: `s3:*`, `*` and "no policy" (which
// grant all of S3 inside the key's account) never grant the cluster-wide admin API.
import { matchesPattern } from '../auth/policy.ts';
import type { PolicyStatement } from '../../shared/config/types.ts';

export const ADMIN_ACTIONS = {
  getStatus: 'admin:GetStatus',
  listJobs: 'admin:ListJobs',
  getJob: 'admin:GetJob',
  createJob: 'admin:CreateJob',
  stopJob: 'admin:StopJob',
  resumeJob: 'admin:ResumeJob',
} as const;

export type AdminAction = (typeof ADMIN_ACTIONS)[keyof typeof ADMIN_ACTIONS];

/** True when a statement's action pattern starts with `admin:` and matches `action` (bucket ignored). */
export function isAdminAllowed(policy: readonly PolicyStatement[], action: AdminAction): boolean {
  return policy.some((statement) =>
    statement.actions.some(
      (pattern) => pattern.toLowerCase().startsWith('admin:') && matchesPattern(pattern, action),
    ),
  );
}

/** The access keys of `[[auth]]` entries that may perform `action`. */
export function adminKeys(
  entries: readonly { accessKeyId: string; policy: readonly PolicyStatement[] }[],
  action: AdminAction,
): string[] {
  return entries.filter((e) => isAdminAllowed(e.policy, action)).map((e) => e.accessKeyId);
}
