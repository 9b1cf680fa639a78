// The gateway's operator side: metrics endpoint, admin API, status page (docs/operations.md).
export { createGatewayOps } from './ops.ts';
export type { GatewayOps, GatewayOpsOptions } from './ops.ts';
export { AdminService } from './service.ts';
export type { AdminServiceDeps } from './service.ts';
export { collectClusterStatus, summarizeJob } from './cluster-status.ts';
export type { ClusterStatus, DbMemberStatus, JobSummary, NodeStatus, StatusDeps } from './cluster-status.ts';
export { ADMIN_ACTIONS, adminKeys, isAdminAllowed } from './auth-rules.ts';
export type { AdminAction } from './auth-rules.ts';
export {
  ADMIN_PREFIX,
  METRICS_PATH,
  STATUS_PAGE_PATH,
  OpsRouteError,
  isOpsPath,
  parseCreateJobBody,
  parseOpsRoute,
} from './routes.ts';
export type { OpsRoute } from './routes.ts';
export { checkJobParams } from './job-params.ts';
export { statusPageHtml, escapeHtml } from './status-page.ts';
export { statusText } from './status-text.ts';
export { formatBytes, formatDuration, formatPercent, formatProgress, table } from './format.ts';
export { openGatewayOps } from './open.ts';
export type { OpenedGatewayOps } from './open.ts';
export { countRepairBacklog } from './cluster-status.ts';
