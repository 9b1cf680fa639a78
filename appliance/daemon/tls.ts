// The TLS identity of appliance (shard node) `id`: in dev mode created on demand under `[tls] dir`,
// otherwise read from there (made beforehand with `s3d certs`). Mirrors s3db's dbNodeTls.
import { isIP } from 'node:net';
import type { ClusterConfig } from '../../shared/config/index.ts';
import { isDevMode, isLoopbackHost } from '../../shared/config/index.ts';
import { ensureClusterCertificates, loadTlsIdentity } from '../../shared/tls/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';

export function applianceCertName(id: number): string {
  return `node-${id}`;
}

export async function applianceTls(config: ClusterConfig, id: number): Promise<TlsIdentity> {
  const name = applianceCertName(id);
  if (!isDevMode(config)) return loadTlsIdentity(config.tls.dir, name);
  const node = config.nodes.find((n) => n.id === id);
  const extraIps =
    node !== undefined && isIP(node.advertiseHost) !== 0 && !isLoopbackHost(node.advertiseHost)
      ? [node.advertiseHost]
      : [];
  const certs = await ensureClusterCertificates(config.tls.dir, [{ name, ipAddresses: extraIps }]);
  const pair = certs.nodes[name];
  if (pair === undefined) throw new Error(`no certificate ${name} was made in ${config.tls.dir}`);
  return { caPem: certs.caPem, certPem: pair.certPem, keyPem: pair.keyPem };
}
