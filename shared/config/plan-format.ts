import type { StartPlan } from './plan.ts';

const MODE_TEXT: Record<StartPlan['mode'], string> = {
  filesystem: 'single node, objects stored as files',
  dev: 'dev: every s3db node, appliance and the gateway on this machine',
  'db-only': 'database only (-db)',
  member: 'cluster member: the parts chosen with -node / -db-node',
  gateway: 'gateway only: connects to the s3db nodes and appliances of the config',
};

/** The plan as the lines `s3d` prints: what this process would start, with addresses and paths. */
export function formatPlan(plan: StartPlan): string {
  const { config } = plan;
  const lines: string[] = [];
  lines.push(`config:   ${config.file} (version ${config.version}, region ${config.region})`);
  lines.push(
    `mode:     ${plan.mode === 'dev' && plan.gateway === undefined ? 'dev: every s3db node and appliance on this machine, no gateway' : MODE_TEXT[plan.mode]}`,
  );
  lines.push(
    plan.backend === 'filesystem'
      ? `backend:  filesystem (${plan.backendReason})`
      : `backend:  distributed (${plan.backendReason}), RS(${config.rs.data},${config.rs.parity}), ` +
          `shard transport ${config.transport.kind}, ring ${config.ring.vnodes} vnodes per node`,
  );

  lines.push(
    `s3db:     ${plan.dbNodes.length === 0 ? 'none in this process' : `${plan.dbNodes.length} to start`}`,
  );
  for (const d of plan.dbNodes) {
    const flags = [
      d.leader ? 'bootstrap leader' : '',
      config.dbIsEmbeddedDefault ? 'default embedded s3db' : '',
    ]
      .filter((f) => f !== '')
      .join(', ');
    lines.push(
      `  s3db ${d.id}: api ${d.host}:${d.port}, raft ${d.host}:${d.raftPort}, advertised as ${d.advertiseHost}, ` +
        `data ${d.path}${flags === '' ? '' : ` (${flags})`}`,
    );
  }

  if (plan.backend === 'distributed') {
    lines.push(
      `appliances: ${plan.shardNodes.length === 0 ? 'none in this process' : `${plan.shardNodes.length} to start`}` +
        ` (cluster has ${config.nodes.length})`,
    );
    for (const n of plan.shardNodes)
      lines.push(`  node ${n.id}: ${n.host}:${n.port}, advertised as ${n.advertiseHost}, data ${n.path}`);
  }

  const gateway = plan.gateway;
  if (gateway === undefined) lines.push('gateway:  none in this process');
  else {
    const port = gateway.port === 0 ? 'any free port (0)' : `port ${gateway.port}`;
    lines.push(
      gateway.tlsCert !== undefined
        ? `gateway:  S3 API over HTTPS on ${port}; TLS: certificate ${gateway.tlsCert}, key ${gateway.tlsKey ?? ''}`
        : `gateway:  S3 API over HTTP on ${port}; TLS: none (give -tls-cert and -tls-key for HTTPS)`,
    );
    if (gateway.filesystemPath !== undefined) lines.push(`  objects under ${gateway.filesystemPath}`);
    if (plan.backend === 'distributed') {
      const targets = config.db.map((d) => `${d.advertiseHost}:${d.port}`).join(', ');
      lines.push(
        `  s3db at ${targets}; up to ${config.gateway.maxChunksInFlight} chunks in flight per request`,
      );
    }
    if (config.gateway.domain !== undefined)
      lines.push(`  virtual-hosted-style requests for *.${config.gateway.domain}`);
  }

  lines.push(
    `buckets:  ${config.buckets.length === 0 ? 'none preconfigured' : config.buckets.map((b) => b.name).join(', ')}`,
  );
  lines.push(
    `auth:     ${config.auth.length === 0 ? 'no [[auth]] entries' : `${config.auth.length} access key(s): ${config.auth.map((a) => a.accessKeyId).join(', ')}`}`,
  );
  return lines.join('\n');
}
