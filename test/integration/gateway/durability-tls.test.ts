// The gateway process on the filesystem backend: kill -9 under write load loses no acknowledged
// object, and the server speaks HTTPS with -tls-cert/-tls-key.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createCertificateAuthority, issueCertificate } from '../../../shared/tls/index.ts';
import { ACCOUNTS, REGION, spawnFilesystemGateway } from './harness.ts';
import type { GatewayProcess } from './harness.ts';

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

describe('gateway process durability and TLS', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('keeps every acknowledged PUT across kill -9 (overwrites included)', async () => {
    let gateway: GatewayProcess = await spawnFilesystemGateway();
    cleanups.push(() => gateway.stop());
    const client = gateway.client(ACCOUNTS.alice);
    await client.send(new CreateBucketCommand({ Bucket: 'durable' }));

    // Each worker owns its keys, so for every key we know the last acknowledged body and the one in flight.
    const acked = new Map<string, string>();
    const inFlight = new Map<string, string>();
    let stop = false;
    let acks = 0;
    const workers = Array.from({ length: 6 }, async (_, w) => {
      for (let n = 0; !stop && n < 10_000; n++) {
        const key = `w${w}/k${n % 7}`;
        const body = randomBytes(1 + ((n * 7919 + w * 104_729) % 150_000));
        inFlight.set(key, md5(body));
        try {
          await client.send(new PutObjectCommand({ Bucket: 'durable', Key: key, Body: body }));
        } catch {
          return; // the server died under us
        }
        acked.set(key, md5(body));
        inFlight.delete(key);
        acks++;
      }
    });
    const deadline = Date.now() + 20_000;
    while (acks < 150 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await gateway.kill9();
    stop = true;
    await Promise.all(workers);
    assert.ok(acks >= 150, `only ${acks} PUTs were acknowledged before the deadline`);

    const dir = gateway.dir;
    gateway = await spawnFilesystemGateway({ dir });
    const reader = gateway.client(ACCOUNTS.alice);
    for (const [key, digest] of acked) {
      const got = await reader.send(new GetObjectCommand({ Bucket: 'durable', Key: key }));
      const bytes = await got.Body?.transformToByteArray();
      assert.ok(bytes !== undefined);
      const actual = md5(bytes);
      const pending = inFlight.get(key);
      assert.ok(
        actual === digest || actual === pending,
        `${key}: holds neither the acknowledged nor the in-flight body`,
      );
      assert.equal(got.ETag, `"${actual}"`);
    }
  });

  it('serves HTTPS with -tls-cert/-tls-key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'predastore-gw-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await createCertificateAuthority();
    const server = await issueCertificate(ca, { name: 'gateway' });
    const certPath = join(dir, 'gateway.crt');
    const keyPath = join(dir, 'gateway.key');
    await writeFile(certPath, server.certPem);
    await writeFile(keyPath, server.keyPem);
    const gateway = await spawnFilesystemGateway({ tls: { certPath, keyPath } });
    cleanups.push(() => gateway.stop());
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);

    const agent = new Agent({ ca: ca.certPem, keepAlive: true });
    cleanups.push(async () => agent.destroy());
    const client = new S3Client({
      endpoint: gateway.url,
      region: REGION,
      forcePathStyle: true,
      credentials: {
        accessKeyId: ACCOUNTS.alice.accessKeyId,
        secretAccessKey: ACCOUNTS.alice.secretAccessKey,
      },
      requestHandler: { httpsAgent: agent },
      maxAttempts: 1,
    });
    cleanups.push(async () => client.destroy());
    await client.send(new CreateBucketCommand({ Bucket: 'secure' }));
    const data = randomBytes(100_000);
    await client.send(new PutObjectCommand({ Bucket: 'secure', Key: 'k', Body: data }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'secure', Key: 'k' }));
    assert.ok(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(data));
  });
});
