// The Lambda gateway's operator side through the local function URL emulator, on a real cluster
// (1 s3db + 3 appliances, RS(2,1)): request metrics come out as CloudWatch EMF lines after every
// invocation with the right counts, and the admin API and status page are served under
// /_predastore/ with the same admin:* rule as the host gateway (gateway/admin, one piece for both).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AdminApiError, AdminClient } from '../../../bin/admin/client.ts';
import type { ClusterStatus } from '../../../gateway/admin/index.ts';
import type { EmfLine } from '../../../shared/metrics/index.ts';
import { authLines, prepareCluster, startMembers } from '../../support/s3d-cluster.ts';
import type { PreparedCluster } from '../../support/s3d-cluster.ts';
import { parseEmfLine } from '../../unit/metrics/emf-check.ts';
import { SOURCE_EMULATOR, startEmulatorGateway } from './emulator-process.ts';

const USER = { accessKeyId: 'LAMBDAUSER', secretAccessKey: 'lambda-ops-user-secret' };
const ADMIN = { accessKeyId: 'LAMBDAADMIN', secretAccessKey: 'lambda-ops-admin-secret' };

describe('Lambda gateway: EMF metrics and the admin API through the function URL', () => {
  let cluster: PreparedCluster;
  let gateway: Awaited<ReturnType<typeof startEmulatorGateway>>;
  let s3: S3Client;

  before(async () => {
    cluster = await prepareCluster({
      prefix: 'pd-lambda-ops-',
      portsFrom: 18000,
      salt: 7,
      dbs: 1,
      nodes: 3,
      rs: { data: 2, parity: 1 },
      dbKey: { accessKeyId: 'LAMBDAOPSDB', secretAccessKey: 'lambda-ops-db-secret' },
      sections: ['[store]', 'volume_size_mb = 16', '[maintenance]', 'job_poll_seconds = 0.5'],
      auth: [
        ...authLines(USER, '[{ bucket = "*", actions = ["s3:*"] }]'),
        ...authLines(ADMIN, '[{ bucket = "*", actions = ["s3:*", "admin:*"] }]'),
      ],
    });
    await startMembers(cluster, [...cluster.dbs, ...cluster.appliances]);
    gateway = await startEmulatorGateway({
      ...SOURCE_EMULATOR,
      configPath: cluster.configPath,
      backend: 'distributed',
      env: { AWS_LAMBDA_FUNCTION_NAME: 'predastore-gateway-test' },
    });
    s3 = new S3Client({
      endpoint: gateway.url,
      region: cluster.config.region,
      forcePathStyle: true,
      credentials: USER,
      maxAttempts: 1,
    });
  });
  after(async () => {
    s3?.destroy();
    await gateway?.stop();
    await cluster?.stop();
  });

  /** EMF lines the function wrote since `from` (an offset into its stdout). */
  const emfSince = (from: number): EmfLine[] =>
    gateway
      .output()
      .slice(from)
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"_aws"'))
      .map(parseEmfLine);

  const total = (
    lines: EmfLine[],
    operation: string,
    status: string,
    field: 'Requests' | 'BytesIn' | 'BytesOut',
  ) =>
    lines
      .filter((l) => l.Operation === operation && l.Status === status)
      .reduce((n, l) => n + (l[field] as number), 0);

  it('every invocation ends with EMF lines carrying the right counts and bytes', async () => {
    const from = gateway.output().length;
    await s3.send(new CreateBucketCommand({ Bucket: 'emf' }));
    const sizes = [1000, 70_000, 5];
    for (const [i, size] of sizes.entries())
      await s3.send(new PutObjectCommand({ Bucket: 'emf', Key: `k${i}`, Body: randomBytes(size) }));
    for (let i = 0; i < 2; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'emf', Key: 'k1' }));
      assert.equal((await got.Body!.transformToByteArray()).length, 70_000);
    }
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'emf', Key: 'nope' })), {
      name: 'NoSuchKey',
    });
    // A line is written when its invocation ends, which may be just after the client got the
    // response; the emulator's stdout also takes a moment to arrive here.
    let lines: EmfLine[] = [];
    for (let i = 0; i < 50; i++) {
      lines = emfSince(from);
      if (lines.reduce((n, l) => n + l.Requests, 0) >= 7) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total(lines, 'CreateBucket', '200', 'Requests'), 1);
    assert.equal(total(lines, 'PutObject', '200', 'Requests'), 3);
    assert.equal(
      total(lines, 'PutObject', '200', 'BytesIn'),
      sizes.reduce((a, b) => a + b, 0),
    );
    assert.equal(total(lines, 'GetObject', '200', 'Requests'), 2);
    assert.equal(total(lines, 'GetObject', '200', 'BytesOut'), 140_000);
    assert.equal(total(lines, 'GetObject', '404', 'Requests'), 1);
    assert.equal(
      lines.reduce((n, l) => n + l.Requests, 0),
      7,
      'one sample per request, none twice',
    );
    // One invocation, one request: each line holds one request (written at its invocation's end).
    assert.ok(lines.every((l) => l.Requests === 1 && typeof l.Latency === 'number' && l.Latency >= 0));
    assert.ok(lines.every((l) => l['FunctionName'] === 'predastore-gateway-test'));
  });

  it('the admin API and status page answer through the function URL, for admin:* keys only', async () => {
    const admin = new AdminClient(gateway.url, ADMIN, cluster.config.region);
    const status = await admin.get<ClusterStatus>('/_predastore/admin/status');
    assert.deepEqual(
      status.nodes.map((n) => [n.id, n.up]),
      [
        ['1', true],
        ['2', true],
        ['3', true],
      ],
    );
    assert.equal(status.db.membersUp, 1);
    // A key without admin:* and an unsigned request are refused, as on the host gateway.
    await assert.rejects(
      new AdminClient(gateway.url, USER, cluster.config.region).get('/_predastore/admin/status'),
      (e) => {
        assert.ok(e instanceof AdminApiError);
        assert.deepEqual([e.status, e.code], [403, 'AccessDenied']);
        return true;
      },
    );
    const unsigned = await fetch(`${gateway.url}/_predastore/admin/status`);
    assert.equal(unsigned.status, 403);
    // The status page through a presigned URL (what `s3d admin status-url` prints).
    const page = await fetch(admin.presignedUrl('/_predastore/status', 60));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<table[^>]*id="nodes"/);
    // A job created through the Lambda runs on an appliance and is followed to done.
    const from = gateway.output().length;
    const created = await admin.post<{ id: string; state: string }>('/_predastore/admin/jobs', {
      kind: 'gc',
    });
    let job = created;
    for (let i = 0; i < 300 && !['done', 'failed'].includes(job.state); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await admin.get<{ id: string; state: string }>(`/_predastore/admin/jobs/${created.id}`);
    }
    assert.equal(job.state, 'done');
    const operator = emfSince(from).filter((l) => l.Operation === 'Operator');
    assert.ok(
      operator.some((l) => l.Status === '201'),
      'the job creation is in the EMF lines',
    );
  });
});
