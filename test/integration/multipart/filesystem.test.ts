// Multipart upload and copy against a gateway process on the filesystem backend.
import { ACCOUNTS, spawnFilesystemGateway } from '../gateway/harness.ts';
import { defineMultipartSuite } from './multipart-behaviour.ts';

defineMultipartSuite('filesystem', async () => {
  const gateway = await spawnFilesystemGateway();
  return {
    url: gateway.url,
    alice: gateway.client(ACCOUNTS.alice),
    bob: gateway.client(ACCOUNTS.bob),
    aliceReadOnly: gateway.client(ACCOUNTS.aliceReadOnly),
    stop: () => gateway.stop(),
  };
});
