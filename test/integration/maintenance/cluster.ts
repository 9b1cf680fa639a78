// A small real cluster for the maintenance tests: 1 s3db node and 5 appliances (RS(3,2)), each its own
// `s3d` child process, with [maintenance] intervals shortened so healing happens within seconds.
// Ports come from 30000–30999.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { Member } from '../distributed/cluster.ts';

export { Member } from '../distributed/cluster.ts';

const DB_KEY = { accessKeyId: 'HEALTESTDB', secretAccessKey: 'heal-test-db-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const base = 30000 + ((process.pid * 17 + attempt * 41) % 90) * 10;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 30000-30999');
}

export interface HealCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  db: Member;
  appliances: Member[];
  stop(): Promise<void>;
}

export async function startHealCluster(maintenance: string[]): Promise<HealCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-heal-'));
  try {
    const [dbPort, raftPort, ...nodePorts] = await freePorts(7);
    const lines = [
      `base_path = ${JSON.stringify(join(dir, 'data'))}`,
      '[rs]',
      'data = 3',
      'parity = 2',
      '[store]',
      'volume_size_mb = 8',
      '[maintenance]',
      ...maintenance,
      '[[db]]',
      'id = 1',
      'host = "127.0.0.1"',
      `port = ${dbPort}`,
      `raft_port = ${raftPort}`,
      `access_key_id = "${DB_KEY.accessKeyId}"`,
      `secret_access_key = "${DB_KEY.secretAccessKey}"`,
    ];
    nodePorts.forEach((port, i) =>
      lines.push('[[nodes]]', `id = ${i + 1}`, 'host = "127.0.0.1"', `port = ${port}`, 'metrics_port = 0'),
    );
    lines.push('[[auth]]', 'access_key_id = "HEALTESTKEY"', 'secret_access_key = "heal-test-secret"');
    const configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    const config = await loadConfig(configPath, { cwd: dir });
    await ensureClusterCertificates(config.tls.dir, [
      's3db-1',
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    const db = new Member('s3db 1', ['-config', configPath, '-db', '-db-node', '1'], dir);
    const appliances = config.nodes.map(
      (n) => new Member(`node ${n.id}`, ['-config', configPath, '-node', String(n.id), '-no-gateway'], dir),
    );
    const all = [db, ...appliances];
    const stop = async (): Promise<void> => {
      await Promise.all(all.map((m) => m.kill()));
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await Promise.all(all.map((m) => m.start()));
    } catch (error) {
      await stop();
      throw error;
    }
    return { dir, configPath, config, db, appliances, stop };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
