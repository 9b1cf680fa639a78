// The S3 API breadth suite against a gateway process on the filesystem backend.
import { ACCOUNTS, REGION, spawnFilesystemGateway } from '../gateway/harness.ts';
import { defineS3ApiSuite } from './s3-api-suite.ts';

defineS3ApiSuite('filesystem backend', async () => {
  const gateway = await spawnFilesystemGateway();
  return {
    url: gateway.url,
    region: REGION,
    owner: { credentials: ACCOUNTS.alice, client: gateway.client(ACCOUNTS.alice) },
    readOnly: { credentials: ACCOUNTS.aliceReadOnly, client: gateway.client(ACCOUNTS.aliceReadOnly) },
    awsCli: true,
    stop: () => gateway.stop(),
  };
});
