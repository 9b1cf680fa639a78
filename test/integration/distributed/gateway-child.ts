// A gateway over the distributed backend in its own process (for kill -9 tests and the benchmark):
// node --import tsx gateway-child.ts <config>  → prints "LISTENING <url>". GATEWAY_CHILD_OPTIONS may
// hold a JSON object of DistributedBackendOptions (benchmark A/B runs). SIGINT closes it cleanly.
import { loadConfig } from '../../../shared/config/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackendOptions } from '../../../gateway/backend/distributed/index.ts';

const configPath = process.argv[2];
if (configPath === undefined) throw new Error('usage: gateway-child.ts <config>');
const config = await loadConfig(configPath);
const extra = process.env.GATEWAY_CHILD_OPTIONS;
const options = extra ? (JSON.parse(extra) as DistributedBackendOptions) : {};
const backend = await createDistributedBackend(config, options);
const server = await startGatewayServer({
  backend,
  credentials: config.auth,
  port: 0,
  host: '127.0.0.1',
  region: config.region,
  logger: false,
});
process.once('SIGINT', () => {
  void server.close().finally(() => process.exit(0));
});
process.stdout.write(`LISTENING ${server.url}\n`);
