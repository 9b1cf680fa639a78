// `s3d admin status` as text: the same data as the JSON and the page, as tables (pure).
import type { ClusterStatus } from './cluster-status.ts';
import { formatBytes, formatDuration, formatPercent, formatProgress, table } from './format.ts';

export function statusText(s: ClusterStatus): string {
  const out: string[] = [];
  const leader = s.db.leaderId === undefined ? 'NONE' : `s3db ${s.db.leaderId}`;
  out.push(
    `Cluster (${s.region}): appliances ${s.nodesUp}/${s.nodes.length} up, s3db ${s.db.membersUp}/${s.db.members.length} up, leader ${leader}`,
  );
  const ringLine = `Ring: epoch ${s.ring.epoch} (${s.ring.source === 's3db' ? 'stored in s3db' : 'from the config'}), RS(${s.ring.rs.k},${s.ring.rs.m}), ${s.ring.vnodes} vnodes`;
  out.push(s.ring.error === undefined ? ringLine : `${ringLine} — ring record unreadable: ${s.ring.error}`);
  const backlog = `${s.repairBacklog.count}${s.repairBacklog.capped ? '+' : ''}`;
  out.push(
    `Repair backlog: ${backlog} task(s)${s.repairBacklog.error === undefined ? '' : ` (unreadable: ${s.repairBacklog.error})`}`,
  );
  if (s.gateway !== undefined)
    out.push(
      `This gateway (last minute): ${s.gateway.requests.toFixed(1)} req/s, in ${formatBytes(s.gateway.bytesIn)}/s, out ${formatBytes(s.gateway.bytesOut)}/s, ${s.gateway.errors.toFixed(2)} errors/s`,
    );
  out.push('', 'Appliances');
  out.push(
    table([
      ['NODE', 'ADDRESS', 'STATE', 'RING', 'SHARDS', 'LIVE', 'DISK USED', 'DISK FREE', 'UPTIME', 'NOTE'],
      ...s.nodes.map((n) => {
        const st = n.stats;
        return [
          n.id,
          n.address,
          n.up ? 'up' : 'DOWN',
          n.ring,
          st === undefined ? '-' : String(st.shardCount),
          st === undefined ? '-' : formatBytes(st.liveBytes),
          st === undefined ? '-' : formatPercent(st.diskTotalBytes - st.diskFreeBytes, st.diskTotalBytes),
          st === undefined ? '-' : formatBytes(st.diskFreeBytes),
          st === undefined ? '-' : formatDuration(st.uptimeSeconds),
          n.error ?? '',
        ];
      }),
    ]),
  );
  out.push('', 's3db');
  out.push(
    table([
      ['ID', 'ADDRESS', 'STATE', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'LAG', 'NOTE'],
      ...s.db.members.map((m) => [
        String(m.id),
        m.address,
        m.up ? 'up' : 'DOWN',
        m.role ?? '-',
        m.term === undefined ? '-' : String(m.term),
        m.commit === undefined ? '-' : String(m.commit),
        m.applied === undefined ? '-' : String(m.applied),
        m.lag === undefined ? '-' : String(m.lag),
        m.error ?? '',
      ]),
    ]),
  );
  out.push('', 'Jobs');
  const jobs = [...s.jobs.active, ...s.jobs.recent];
  if (s.jobs.error !== undefined) out.push(`(unreadable: ${s.jobs.error})`);
  else if (jobs.length === 0) out.push('(none)');
  else
    out.push(
      table([
        ['ID', 'KIND', 'STATE', 'PROGRESS', 'UPDATED', 'NOTE'],
        ...jobs.map((j) => [
          j.id,
          j.kind,
          j.state,
          formatProgress(j.progress),
          `${formatDuration((s.generated - j.updated) / 1000)} ago`,
          j.error ?? '',
        ]),
      ]),
    );
  return out.join('\n');
}
