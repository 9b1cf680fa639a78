// One appliance (shard node): its shard store on local disk, served over the configured transport.
import type { ClusterConfig } from '../../shared/config/index.ts';
import { shardNode } from '../../shared/config/index.ts';
import { createTransport } from '../../shared/transport/index.ts';
import { startShardServer } from '../shard-server/server.ts';
import type { ShardServer } from '../shard-server/server.ts';
import { ShardStore } from '../store/index.ts';
import { shardStoreBackend } from './store-backend.ts';
import { applianceTls } from './tls.ts';
import { observeAppliance } from './observability.ts';
import { maintenanceOf } from '../../shared/config/index.ts';
import { startMaintenance } from '../maintenance/index.ts';
import type { RunningMaintenance } from '../maintenance/index.ts';
import { tuneHeapGrowth } from '../../shared/datapath/heap-tuning.ts';

export interface RunningAppliance {
  id: number;
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startAppliance(
  config: ClusterConfig,
  id: number,
  log: (line: string) => void = () => {},
): Promise<RunningAppliance> {
  const node = shardNode(config, id);
  if (node === undefined) throw new Error(`${config.file} has no [[nodes]] entry with id ${id}`);
  // Shard traffic allocates Buffers at the rate of the data: the same GC setting as the gateway's (docs/perf.md).
  tuneHeapGrowth();
  const tls = await applianceTls(config, id);
  const store = await ShardStore.open({
    path: node.path,
    volumeSizeBytes: config.store.volumeSizeBytes,
    compression: config.store.compression,
    compactionGarbageRatio: config.store.compactionGarbageRatio,
  });
  const report = store.openReport;
  const rebuilt = report.rebuilt;
  // A new store has no index yet and nothing to rebuild it from: not worth a line.
  if (rebuilt !== undefined && rebuilt.volumes > 0)
    log(
      `node ${id}: index rebuilt from ${rebuilt.volumes} volume(s), ${rebuilt.liveShards} shard(s) (${rebuilt.reason})`,
    );
  for (const tail of report.truncatedTails)
    log(`node ${id}: volume ${tail.volume}: cut ${tail.bytes} unacknowledged bytes from its tail`);
  const observed = observeAppliance(config, id, () => store.stats());
  let server: ShardServer;
  try {
    const transport = await createTransport(config.transport.kind);
    server = await startShardServer({
      store: observed.count(shardStoreBackend(store)),
      onRequestDone: (context, outcome) => observed.onRequestDone(context, outcome),
      transport,
      tls,
      host: node.host,
      port: node.port,
      onError: (err, context) =>
        log(
          `node ${id}: ${context.op} from ${context.peer.remoteAddress}${context.requestId ? ` (request ${context.requestId})` : ''} failed: ${String(err)}`,
        ),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  await observed.listen(log);
  // Background work: job runner, healer, garbage worker, schedules (docs/maintenance.md).
  let maintenance: RunningMaintenance | undefined;
  if (maintenanceOf(config).enabled)
    maintenance = await startMaintenance({ config, applianceId: id, store, tls, log });
  if (maintenance !== undefined) observed.exportMaintenance(maintenance.stats);
  log(
    `node ${id}: shard server (${config.transport.kind}) on ${node.host}:${server.port}, advertised as ${node.advertiseHost}, data ${node.path}`,
  );
  let closing: Promise<void> | undefined;
  return {
    id,
    host: node.host,
    port: server.port,
    close: () => {
      closing ??= (async () => {
        await maintenance?.close();
        await observed.close();
        await server.close();
        await store.close();
      })();
      return closing;
    },
  };
}
