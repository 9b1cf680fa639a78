// The S3 API breadth suite against the distributed backend: 3 s3db nodes and 5 appliances as real
// processes, the gateway in this process (so the garbage queue can be inspected).
import { S3Client } from '@aws-sdk/client-s3';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import { ACCOUNT, startCluster } from '../distributed/cluster.ts';
import { defineS3ApiSuite } from './s3-api-suite.ts';

const READ_ONLY = { accessKeyId: 'DISTTESTREADONLY', secretAccessKey: 'distributed-read-only-secret' };

defineS3ApiSuite('distributed backend', async () => {
  const cluster = await startCluster(11);
  try {
    const backend = await createDistributedBackend(cluster.config, {
      readTimeoutMs: 3000,
      writeTimeoutMs: 10_000,
    });
    const owner = cluster.config.auth[0];
    if (owner === undefined) throw new Error('the test cluster has no [[auth]] entry');
    const gateway = await startGatewayServer({
      backend,
      credentials: [
        ...cluster.config.auth,
        {
          ...READ_ONLY,
          accountId: owner.accountId,
          policy: [{ bucket: '*', actions: ['s3:GetObject', 's3:ListBucket', 's3:ListAllMyBuckets'] }],
        },
      ],
      port: 0,
      host: '127.0.0.1',
      region: cluster.config.region,
      logger: false,
    });
    const client = (credentials: typeof ACCOUNT): S3Client =>
      new S3Client({
        endpoint: gateway.url,
        region: cluster.config.region,
        forcePathStyle: true,
        credentials,
        maxAttempts: 1,
      });
    const clients = [client(ACCOUNT), client(READ_ONLY)] as const;
    return {
      url: gateway.url,
      region: cluster.config.region,
      owner: { credentials: ACCOUNT, client: clients[0] },
      readOnly: { credentials: READ_ONLY, client: clients[1] },
      garbageCount: async () => (await backend.garbageRecords(10_000)).length,
      stop: async () => {
        for (const c of clients) c.destroy();
        await gateway.close();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
});
