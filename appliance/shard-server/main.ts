// Runs one shard server over a real shard store, from flags — for tests and benchmarks (the cluster's
// appliances are started by `s3d`, see appliance/daemon/). Prints "PORT <n>" on stdout once serving.
//
//   node --import tsx appliance/shard-server/main.ts -store DIR -certs DIR [-name node-1]
//        [-transport tls|quic] [-host 127.0.0.1] [-port 0]
import { parseArgs } from 'node:util';
import { ShardStore } from '../store/index.ts';
import { shardStoreBackend } from '../daemon/store-backend.ts';
import { ensureClusterCertificates } from '../../shared/tls/index.ts';
import { createTransport } from '../../shared/transport/factory.ts';
import type { TransportKind } from '../../shared/transport/types.ts';
import { startShardServer } from './server.ts';

const USAGE =
  'usage: main.ts -store DIR -certs DIR [-name node-1] [-transport tls|quic] [-host 127.0.0.1] [-port 0]';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.map((a) => (/^-[a-z]/.test(a) ? `-${a}` : a)),
    options: {
      store: { type: 'string' },
      certs: { type: 'string' },
      name: { type: 'string', default: 'node-1' },
      transport: { type: 'string', default: 'tls' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.store || !values.certs) {
    process.stderr.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (values.transport !== 'tls' && values.transport !== 'quic') {
    process.stderr.write(`unknown -transport ${values.transport}\n${USAGE}\n`);
    return 2;
  }
  const certs = await ensureClusterCertificates(values.certs, [values.name]);
  const pair = certs.nodes[values.name]!;
  const store = await ShardStore.open({ path: values.store });
  const server = await startShardServer({
    store: shardStoreBackend(store),
    transport: await createTransport(values.transport as TransportKind),
    tls: { caPem: certs.caPem, ...pair },
    host: values.host,
    port: Number(values.port),
    onError: (err, ctx) => process.stderr.write(`${ctx.op} from ${ctx.peer.remoteAddress}: ${String(err)}\n`),
  });
  process.stdout.write(`PORT ${server.port}\n`);
  const stop = async (): Promise<void> => {
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  return -1; // keep serving
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`shard server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
