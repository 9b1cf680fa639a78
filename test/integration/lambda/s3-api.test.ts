// The S3 API breadth suite (DeleteObjects, versions listing, tagging, CORS, checksums) through the
// Lambda function URL code path: SDK → local function URL emulator → payload v2 event → the same app.
import { ACCOUNTS, REGION } from '../gateway/harness.ts';
import { defineS3ApiSuite } from '../s3api/s3-api-suite.ts';
import { startSourceEmulator } from './emulator-process.ts';

defineS3ApiSuite('filesystem, through the Lambda function URL handler', async () => {
  const gateway = await startSourceEmulator();
  return {
    url: gateway.url,
    region: REGION,
    owner: { credentials: ACCOUNTS.alice, client: gateway.client(ACCOUNTS.alice) },
    readOnly: { credentials: ACCOUNTS.aliceReadOnly, client: gateway.client(ACCOUNTS.aliceReadOnly) },
    awsCli: true,
    stop: () => gateway.stop(),
  };
});
