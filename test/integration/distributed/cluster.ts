// A real cluster for the distributed backend's tests and benchmark: 3 s3db nodes and 5 appliances,
// each its own `s3d` child process (so any one can be killed with kill -9 and restarted), plus
// helpers for seeded data streams. Ports come from 24000–24999.
import { createCipheriv, createHash } from 'node:crypto';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { Member, ROOT, authLines, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';

export { Member, ROOT };
export const ACCOUNT = { accessKeyId: 'DISTTESTKEY', secretAccessKey: 'distributed-test-secret' };
const DB_KEY = { accessKeyId: 'DISTTESTDB', secretAccessKey: 'distributed-test-db-secret' };

export interface TestCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  dbs: Member[];
  appliances: Member[];
  stop(): Promise<void>;
}

export async function startCluster(salt = 0): Promise<TestCluster> {
  const cluster = await prepareCluster({
    prefix: 'pd-distributed-',
    portsFrom: 24000,
    salt,
    dbs: 3,
    nodes: 5,
    rs: { data: 3, parity: 2 },
    dbKey: DB_KEY,
    sections: ['[store]', 'volume_size_mb = 64'],
    auth: authLines(ACCOUNT, '[{ bucket = "*", actions = ["s3:*"] }]'),
  });
  await startMembers(cluster, [...cluster.dbs, ...cluster.appliances]);
  return cluster;
}

// ---- seeded data -----------------------------------------------------------------------------------

const PIECE = 1 << 20;

function keystream(seed: number, start: number): ReturnType<typeof createCipheriv> {
  const key = createHash('sha256').update(`seed:${seed}`).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  cipher.update(Buffer.alloc(start % 16));
  return cipher;
}

/** Bytes [start, start+length) of the seeded stream. */
export function seededBytes(seed: number, start: number, length: number): Buffer {
  return keystream(seed, start).update(Buffer.alloc(length));
}

/** The seeded stream's first `size` bytes, in 1 MiB pieces (never held whole). */
export async function* seededStream(seed: number, size: number): AsyncGenerator<Buffer> {
  const cipher = keystream(seed, 0);
  const zeros = Buffer.alloc(PIECE);
  for (let done = 0; done < size; done += PIECE)
    yield cipher.update(zeros.subarray(0, Math.min(PIECE, size - done)));
}

export async function md5Of(stream: AsyncIterable<Uint8Array>): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const piece of stream) {
    hash.update(piece);
    size += piece.length;
  }
  return { md5: hash.digest('hex'), size };
}
