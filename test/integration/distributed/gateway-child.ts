// A gateway over the distributed backend in its own process (for kill -9 tests):
// node --import tsx gateway-child.ts <config>  → prints "LISTENING <url>".
import { loadConfig } from '../../../shared/config/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';

const configPath = process.argv[2];
if (configPath === undefined) throw new Error('usage: gateway-child.ts <config>');
const config = await loadConfig(configPath);
const backend = await createDistributedBackend(config);
const server = await startGatewayServer({
  backend,
  credentials: config.auth,
  port: 0,
  host: '127.0.0.1',
  region: config.region,
  logger: false,
});
process.stdout.write(`LISTENING ${server.url}\n`);
