// The status page: one self-contained HTML document (no scripts, no external assets) with the same
// data as `admin status`; it reloads itself every `refreshSeconds` (pure).
import type { ClusterStatus } from './cluster-status.ts';
import { formatBytes, formatDuration, formatPercent, formatProgress } from './format.ts';

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2330;background:#f7f8fa}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}
.summary{display:flex;gap:1em;flex-wrap:wrap}.card{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:.6em 1em;min-width:10em}
.card b{display:block;font-size:1.5em}table{border-collapse:collapse;background:#fff;border:1px solid #d8dce3}
th,td{padding:.3em .7em;border-bottom:1px solid #eceef2;text-align:left;white-space:nowrap}th{background:#eef0f4;font-weight:600}
.up{color:#17803d;font-weight:600}.down{color:#c62828;font-weight:700}.muted{color:#6b7280}
.bar{display:inline-block;width:8em;height:.7em;background:#e5e7eb;border-radius:3px;vertical-align:middle;margin-right:.4em}
.bar i{display:block;height:100%;background:#3b82f6;border-radius:3px}`;

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

function state(up: boolean): string {
  return up ? '<span class="up">up</span>' : '<span class="down">DOWN</span>';
}

function bar(done: number, total: number | undefined): string {
  if (total === undefined || !(total > 0)) return '';
  const pct = Math.max(0, Math.min(100, (done / total) * 100));
  return `<span class="bar"><i style="width:${pct.toFixed(1)}%"></i></span>`;
}

export function statusPageHtml(s: ClusterStatus, options: { refreshSeconds?: number } = {}): string {
  const e = escapeHtml;
  const refresh = options.refreshSeconds ?? 10;
  const leader = s.db.leaderId === undefined ? 'none' : `s3db ${s.db.leaderId}`;
  const cards = [
    ['Appliances up', `${s.nodesUp}/${s.nodes.length}`],
    ['s3db up', `${s.db.membersUp}/${s.db.members.length}`],
    ['s3db leader', leader],
    ['Ring epoch', `${s.ring.epoch}`],
    ['RS scheme', `(${s.ring.rs.k},${s.ring.rs.m})`],
    ['Repair backlog', `${s.repairBacklog.count}${s.repairBacklog.capped ? '+' : ''}`],
  ];
  if (s.gateway !== undefined) {
    cards.push(['Requests/s', s.gateway.requests.toFixed(1)]);
    cards.push(['In/s', formatBytes(s.gateway.bytesIn)]);
    cards.push(['Out/s', formatBytes(s.gateway.bytesOut)]);
  }
  const healthy =
    s.nodesUp === s.nodes.length && s.db.leaderId !== undefined && s.db.membersUp === s.db.members.length;
  const nodes = s.nodes.map((n) =>
    row([
      e(n.id),
      e(n.address),
      state(n.up),
      e(n.ring),
      n.stats ? String(n.stats.shardCount) : '-',
      n.stats ? e(formatBytes(n.stats.liveBytes)) : '-',
      n.stats
        ? `${bar(n.stats.diskTotalBytes - n.stats.diskFreeBytes, n.stats.diskTotalBytes)}${e(formatPercent(n.stats.diskTotalBytes - n.stats.diskFreeBytes, n.stats.diskTotalBytes))}`
        : '-',
      n.stats ? e(formatBytes(n.stats.diskFreeBytes)) : '-',
      n.stats ? e(formatDuration(n.stats.uptimeSeconds)) : '-',
      `<span class="muted">${e(n.error ?? '')}</span>`,
    ]),
  );
  const members = s.db.members.map((m) =>
    row([
      String(m.id),
      e(m.address),
      state(m.up),
      e(m.role ?? '-'),
      m.term === undefined ? '-' : String(m.term),
      m.commit === undefined ? '-' : String(m.commit),
      m.applied === undefined ? '-' : String(m.applied),
      m.lag === undefined ? '-' : String(m.lag),
      `<span class="muted">${e(m.error ?? '')}</span>`,
    ]),
  );
  const jobs = [...s.jobs.active, ...s.jobs.recent].map((j) =>
    row([
      `<code>${e(j.id)}</code>`,
      e(j.kind),
      e(j.state),
      `${bar(j.progress.done, j.progress.total)}${e(formatProgress(j.progress))}`,
      e(`${formatDuration((s.generated - j.updated) / 1000)} ago`),
      `<span class="muted">${e(j.error ?? '')}</span>`,
    ]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${refresh}">
<title>Predastore status</title><style>${STYLE}</style></head>
<body>
<h1>Predastore cluster <span class="${healthy ? 'up' : 'down'}" id="health">${healthy ? 'healthy' : 'degraded'}</span></h1>
<p class="muted">Region ${e(s.region)} · generated ${e(new Date(s.generated).toISOString())} · reloads every ${refresh} s</p>
<div class="summary">${cards.map(([k, v]) => `<div class="card">${e(k!)}<b>${e(v!)}</b></div>`).join('')}</div>
<h2>Appliances</h2>
<table id="nodes">${row(['Node', 'Address', 'State', 'Ring', 'Shards', 'Live', 'Disk used', 'Disk free', 'Uptime', 'Note'], true)}${nodes.join('')}</table>
<h2>s3db</h2>
<table id="db">${row(['Id', 'Address', 'State', 'Role', 'Term', 'Commit', 'Applied', 'Lag', 'Note'], true)}${members.join('')}</table>
<h2>Ring</h2>
<p>Epoch ${s.ring.epoch} (${s.ring.source === 's3db' ? 'stored in s3db' : 'from the config'}), ${s.ring.vnodes} vnodes: ${s.ring.nodes.map((n) => `${e(n.id)} <span class="muted">${e(n.state)}</span>`).join(', ')}${s.ring.error ? ` <span class="down">${e(s.ring.error)}</span>` : ''}</p>
<h2>Jobs</h2>
${jobs.length === 0 ? `<p class="muted">${s.jobs.error ? e(`unreadable: ${s.jobs.error}`) : 'none'}</p>` : `<table id="jobs">${row(['Id', 'Kind', 'State', 'Progress', 'Updated', 'Note'], true)}${jobs.join('')}</table>`}
</body></html>
`;
}
