// A shard server in its own process for tests that kill it: memory backend, prints "PORT <n>" when ready.
// argv: <transport kind> <certs dir> <read delay ms>
import { startShardServer } from '../../../appliance/shard-server/server.ts';
import { createTransport } from '../../../shared/transport/factory.ts';
import { loadTlsIdentity } from '../../../shared/tls/cluster-certs.ts';
import { MemoryBackend } from './memory-backend.ts';
import type { TransportKind } from '../../../shared/transport/types.ts';

const [kind, dir, delay] = process.argv.slice(2);
const backend = new MemoryBackend();
backend.delayMs = Number(delay ?? 0);
const server = await startShardServer({
  store: backend,
  transport: await createTransport(kind as TransportKind),
  tls: await loadTlsIdentity(dir as string, 'node-1'),
});
process.stdout.write(`PORT ${server.port}\n`);
