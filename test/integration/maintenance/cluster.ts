// A small real cluster for the maintenance tests: 1 s3db node and 5 appliances (RS(3,2)), each its own
// `s3d` child process, with [maintenance] intervals shortened so healing happens within seconds.
// Ports come from 30000–30999.
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { Member, authLines, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';

export { Member };

const DB_KEY = { accessKeyId: 'HEALTESTDB', secretAccessKey: 'heal-test-db-secret' };

export interface HealCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  db: Member;
  appliances: Member[];
  stop(): Promise<void>;
}

export async function startHealCluster(maintenance: string[]): Promise<HealCluster> {
  const cluster = await prepareCluster({
    prefix: 'pd-heal-',
    portsFrom: 30000,
    dbs: 1,
    nodes: 5,
    rs: { data: 3, parity: 2 },
    dbKey: DB_KEY,
    sections: ['[store]', 'volume_size_mb = 8', '[maintenance]', ...maintenance],
    nodeLines: ['metrics_port = 0'],
    auth: authLines({ accessKeyId: 'HEALTESTKEY', secretAccessKey: 'heal-test-secret' }),
    applianceArgs: ['-no-gateway'],
  });
  await startMembers(cluster, [...cluster.dbs, ...cluster.appliances]);
  return { ...cluster, db: cluster.dbs[0] as Member };
}
