// Test hooks: a temporary cluster CA with certificates for an appliance (node-1) and a gateway,
// created before the file's tests and removed after them.
import { before, after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import type { TlsIdentity } from '../../../shared/tls/cluster-certs.ts';

export interface TestIdentities {
  node: TlsIdentity;
  gateway: TlsIdentity;
}

/** Registers before/after hooks; the returned object is filled in by the time the tests run. */
export function useTestIdentities(prefix: string): TestIdentities {
  const ids = {} as TestIdentities;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    const certs = await ensureClusterCertificates(dir, ['node-1', 'gateway']);
    ids.node = { caPem: certs.caPem, ...certs.nodes['node-1']! };
    ids.gateway = { caPem: certs.caPem, ...certs.nodes['gateway']! };
  });
  after(() => rm(dir, { recursive: true, force: true }));
  return ids;
}
