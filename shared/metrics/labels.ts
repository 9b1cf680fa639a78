// Pure helpers that turn what the code knows into bounded Prometheus label values.

/** Latency buckets (seconds) shared by every duration histogram: 1 ms .. 60 s. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** Metrics listener port of a `[[db]]` / `[[nodes]]` entry: its `metrics_port` (0 = off), else port + 2000. */
export function metricsPortOf(entry: { port: number; metricsPort?: number }): number | undefined {
  if (entry.metricsPort !== undefined) return entry.metricsPort === 0 ? undefined : entry.metricsPort;
  const port = entry.port + METRICS_PORT_OFFSET;
  return port <= 65535 ? port : undefined;
}

export const METRICS_PORT_OFFSET = 2000;

/** The appliance id of a shard peer (`node-3.predastore.internal` → "3"), else its host:port. */
export function nodeLabel(peer: { host: string; port: number; serverName?: string }): string {
  const match = /^node-([^.]+)\./.exec(peer.serverName ?? '');
  return match?.[1] ?? `${peer.host}:${peer.port}`;
}

/** `ok`, or an error's stable `code` (shard and s3db client errors), else `error`. */
export function outcomeLabel(error?: unknown): string {
  if (error === undefined) return 'ok';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z_]{1,40}$/.test(code) ? code : 'error';
}

/** HTTP status as a label: the exact code (S3 uses few), or `0` when no response was sent. */
export function statusLabel(status: number | undefined): string {
  return status !== undefined && Number.isInteger(status) && status >= 100 && status <= 599
    ? String(status)
    : '0';
}

/** The operation of an s3db REST path: `/v1/get/t/k` → `get`; `/status` → `status`; unknown → `other`. */
export function s3dbOperation(path: string): string {
  const p = path.split('?')[0] ?? '';
  const m = /^\/v1\/(get|put|delete|scan|batch|leader|join)(\/|$)/.exec(p);
  if (m) return m[1]!;
  if (p === '/status' || p === '/health') return p.slice(1);
  return 'other';
}

/** A non-negative byte count from a content-length header value, else 0. */
export function lengthOf(header: string | string[] | number | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : 0;
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return 0;
  return Number(value.trim());
}
