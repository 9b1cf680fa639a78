// The operator side against a real cluster: 3 s3db nodes (one process) and 3 appliances (one process
// each, so one can be killed with kill -9), the gateway in this process as `s3d` starts it. Ports
// come from 31000–31999.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Member } from '../distributed/cluster.ts';
import { loadConfig } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { ensureClusterCertificates } from '../../../shared/tls/index.ts';
import { startPlanGateway } from '../../../bin/gateway.ts';
import type { RunningGateway } from '../../../bin/gateway.ts';
import { main } from '../../../bin/s3d.ts';
import { runAdminCommand } from '../../../bin/admin/command.ts';
import type { AdminIo } from '../../../bin/admin/command.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { getJob } from '../../../shared/jobs/index.ts';
import type { ClusterStatus } from '../../../gateway/admin/index.ts';

const ADMIN = { accessKeyId: 'OPSADMINKEY', secretAccessKey: 'ops-admin-secret' };
const PLAIN = { accessKeyId: 'OPSPLAINKEY', secretAccessKey: 'ops-plain-secret' };
const DB_KEY = { accessKeyId: 'OPSDBKEY', secretAccessKey: 'ops-db-secret-key' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freeBlock(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 31000 + ((process.pid + attempt * 7) % 40) * 25;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no block of free ports in 31000-31999');
}

/** Value of `name{labels}` in Prometheus text (labels matched as a subset). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1]!, p[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) total = (total ?? 0) + Number(m[4]);
  }
  return total;
}

function captureIo(): AdminIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    write: (t) => stderr.push(t),
    isTTY: false,
    onInterrupt: () => () => {},
  };
}

describe('operator side on a real cluster', () => {
  let dir: string;
  let config: ClusterConfig;
  let configPath: string;
  let dbs: Member;
  let appliances: Member[] = [];
  let gateway: RunningGateway;
  let db: S3dbClient;
  let metricsPorts: { db: number[]; nodes: number[] };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pd-ops-'));
    const ports = await freeBlock(15);
    const [dbPorts, raftPorts, nodePorts, dbMetrics, nodeMetrics] = [0, 3, 6, 9, 12].map((i) =>
      ports.slice(i, i + 3),
    ) as [number[], number[], number[], number[], number[]];
    metricsPorts = { db: dbMetrics, nodes: nodeMetrics };
    const lines = [
      `base_path = ${JSON.stringify(join(dir, 'data'))}`,
      '[rs]',
      'data = 2',
      'parity = 1',
      '[store]',
      'volume_size_mb = 16',
    ];
    for (let i = 0; i < 3; i++)
      lines.push(
        '[[db]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${dbPorts[i]}`,
        `raft_port = ${raftPorts[i]}`,
        `metrics_port = ${dbMetrics[i]}`,
        `access_key_id = "${DB_KEY.accessKeyId}"`,
        `secret_access_key = "${DB_KEY.secretAccessKey}"`,
      );
    for (let i = 0; i < 3; i++)
      lines.push(
        '[[nodes]]',
        `id = ${i + 1}`,
        'host = "127.0.0.1"',
        `port = ${nodePorts[i]}`,
        `metrics_port = ${nodeMetrics[i]}`,
      );
    lines.push(
      '[[auth]]',
      `access_key_id = "${ADMIN.accessKeyId}"`,
      `secret_access_key = "${ADMIN.secretAccessKey}"`,
      'policy = [{ bucket = "*", actions = ["s3:*", "admin:*"] }]',
    );
    lines.push(
      '[[auth]]',
      `access_key_id = "${PLAIN.accessKeyId}"`,
      `secret_access_key = "${PLAIN.secretAccessKey}"`,
      'policy = [{ bucket = "*", actions = ["s3:*"] }]',
    );
    configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
    config = await loadConfig(configPath, { cwd: dir });
    await ensureClusterCertificates(config.tls.dir, [
      ...config.db.map((d) => `s3db-${d.id}`),
      ...config.nodes.map((n) => `node-${n.id}`),
      'gateway',
    ]);
    // Every appliance logs each shard request with its request id (JSON, debug level).
    process.env['PREDASTORE_LOG_LEVEL'] = 'debug';
    dbs = new Member('s3db', ['-config', configPath, '-db', '-db-node', '-1'], dir);
    appliances = config.nodes.map(
      (n) => new Member(`node ${n.id}`, ['-config', configPath, '-node', String(n.id)], dir),
    );
    await Promise.all([dbs.start(), ...appliances.map((a) => a.start())]);
    delete process.env['PREDASTORE_LOG_LEVEL'];
    gateway = await startPlanGateway(
      {
        config,
        backend: 'distributed',
        backendReason: 'test',
        mode: 'gateway',
        dbNodes: [],
        shardNodes: [],
        gateway: { port: 0 },
      },
      '127.0.0.1',
      'silent',
    );
    db = new S3dbClient({
      nodes: config.db.map((d) => `127.0.0.1:${d.port}`),
      credentials: DB_KEY,
      caPem: (await ensureClusterCertificates(config.tls.dir, [])).caPem,
    });
  });

  after(async () => {
    db?.close();
    await gateway?.close();
    await Promise.all([dbs, ...appliances].filter(Boolean).map((m) => m.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  const s3 = (credentials = ADMIN): S3Client =>
    new S3Client({ endpoint: gateway.url, region: 'us-east-1', forcePathStyle: true, credentials });

  it('metrics move with traffic on the gateway, the appliances and s3db; request ids reach the appliances and s3db', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'ops' }));
    const body = Buffer.alloc(300_000, 7);
    const put = await client.send(new PutObjectCommand({ Bucket: 'ops', Key: 'a.bin', Body: body }));
    await client.send(new PutObjectCommand({ Bucket: 'ops', Key: 'b.bin', Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'ops', Key: 'a.bin' }));
    assert.equal((await got.Body!.transformToByteArray()).length, body.length);
    client.destroy();

    const scrape = await fetch(`${gateway.url}/_predastore/metrics`);
    assert.equal(scrape.status, 200);
    assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await scrape.text();
    assert.equal(
      sample(text, 'predastore_gateway_requests_total', { operation: 'PutObject', status: '200' }),
      2,
    );
    assert.equal(
      sample(text, 'predastore_gateway_requests_total', { operation: 'GetObject', status: '200' }),
      1,
    );
    assert.ok(
      (sample(text, 'predastore_gateway_received_bytes_total', { operation: 'PutObject' }) ?? 0) >=
        2 * body.length,
    );
    assert.equal(
      sample(text, 'predastore_gateway_sent_bytes_total', { operation: 'GetObject' }),
      body.length,
    );
    assert.ok(
      (sample(text, 'predastore_gateway_shard_requests_total', { op: 'put', outcome: 'ok' }) ?? 0) >= 6,
      'two objects x 3 shards',
    );
    assert.ok(
      (sample(text, 'predastore_gateway_shard_requests_total', { op: 'fetch', outcome: 'ok' }) ?? 0) >= 2,
    );
    assert.ok(
      (sample(text, 'predastore_gateway_s3db_requests_total', { op: 'batch', outcome: 'ok' }) ?? 0) >= 2,
    );
    assert.equal(sample(text, 'predastore_cluster_read_ok'), 1);
    assert.equal(sample(text, 'predastore_cluster_repair_backlog'), 0);

    let shardsServed = 0;
    for (const port of metricsPorts.nodes) {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      shardsServed +=
        sample(t, 'predastore_appliance_requests_total', { op: 'PUT_SHARD', status: 'OK' }) ?? 0;
      assert.ok((sample(t, 'predastore_appliance_disk_total_bytes') ?? 0) > 0);
    }
    assert.ok(shardsServed >= 6, `appliances served ${shardsServed} PUT_SHARD`);
    let leaders = 0;
    for (const port of metricsPorts.db) {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      leaders += sample(t, 'predastore_s3db_is_leader') ?? 0;
      assert.ok((sample(t, 'predastore_s3db_term') ?? 0) >= 1);
      assert.ok((sample(t, 'predastore_s3db_commit_index') ?? 0) >= 1);
    }
    assert.equal(leaders, 1);

    const requestId = put.$metadata.requestId;
    assert.ok(requestId !== undefined);
    const logged = appliances.filter((a) => a.output.includes(`"requestId":"${requestId}"`));
    assert.ok(logged.length >= 2, `request ${requestId} in the logs of ${logged.length} appliances`);
    // The PUT's metadata commit carries it to s3db too.
    assert.ok(dbs.output.includes(`"requestId":"${requestId}"`), `request ${requestId} in the s3db logs`);
  });

  it('admin API: signed by an admin:* key only; the status page through a presigned URL', async () => {
    const unsigned = await fetch(`${gateway.url}/_predastore/admin/status`);
    assert.equal(unsigned.status, 403);
    await unsigned.text();
    const io = captureIo();
    const denied = await runAdminCommand(
      [
        '-config',
        configPath,
        '-endpoint',
        gateway.url,
        '-access-key',
        PLAIN.accessKeyId,
        '-secret-key',
        PLAIN.secretAccessKey,
        'jobs',
      ],
      {},
      io,
    );
    assert.equal(denied, 1);
    assert.match(io.stderr.join('\n'), /AccessDenied: access key OPSPLAINKEY may not admin:ListJobs/);

    const urlIo = captureIo();
    assert.equal(
      await runAdminCommand(
        ['-config', configPath, '-endpoint', gateway.url, 'status-url', '-expires', '60'],
        {},
        urlIo,
      ),
      0,
    );
    const page = await fetch(urlIo.stdout[0]!);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /id="health">healthy</);
    assert.equal((html.match(/class="up">up</g) ?? []).length, 6, '3 appliances + 3 s3db members up');
    await renderInChromium(urlIo.stdout[0]!, join(dir, 'status-page.png'));
  });

  it('jobs: gc and repair run on the appliances and are followed to done; stop/resume answers; bad params refused', async () => {
    const admin = (...argv: string[]): Promise<[number, ReturnType<typeof captureIo>]> => {
      const io = captureIo();
      return runAdminCommand(
        ['-config', configPath, '-endpoint', gateway.url, '-interval', '200', ...argv],
        {},
        io,
      ).then((code) => [code, io]);
    };
    const [gcCode, gc] = await admin('gc');
    assert.equal(gcCode, 0, gc.stderr.join(''));
    assert.match(gc.stderr.join(''), /^job [0-9a-f]{32}: gc queued/m);
    assert.match(gc.stdout.join('\n'), /^job [0-9a-f]{32}: gc done/m);
    const gcId = /job ([0-9a-f]{32})/.exec(gc.stdout[0]!)![1]!;
    assert.equal((await getJob(db, gcId))?.state, 'done');

    const [repairCode, repair] = await admin('repair');
    assert.equal(repairCode, 0, repair.stderr.join(''));
    assert.match(repair.stdout.join('\n'), /^job [0-9a-f]{32}: repair done/m);

    // A finished job: stop leaves it as it is, resume is refused with the job's state.
    const [stopCode, stop] = await admin('stop', gcId);
    assert.equal(stopCode, 0);
    assert.equal(stop.stdout[0], `job ${gcId}: done`);
    const [resumeCode, resume] = await admin('resume', gcId);
    assert.equal(resumeCode, 1);
    assert.match(resume.stderr.join('\n'), /InvalidJobState: job [0-9a-f]{32} is done/);

    const [detachCode, detach] = await admin('-detach', 'scrub', '2');
    assert.equal(detachCode, 0);
    const id = detach.stdout[0]!;
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.deepEqual((await getJob(db, id))?.params, { node: '2' });
    const [, listed] = await admin('-json', 'jobs');
    const jobs = JSON.parse(listed.stdout.join('\n')) as Array<{ id: string; kind: string }>;
    assert.deepEqual(
      [gcId, id].map((j) => jobs.find((x) => x.id === j)?.kind),
      ['gc', 'scrub'],
    );
    // The appliances export their maintenance counters: the two jobs were done by their runners.
    let jobsDone = 0;
    for (const port of metricsPorts.nodes) {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      jobsDone += sample(t, 'predastore_appliance_maintenance', { source: 'jobs', name: 'done' }) ?? 0;
    }
    assert.ok(jobsDone >= 2, `appliances report ${jobsDone} jobs done`);
    const [badCode, bad] = await admin('drain', '9');
    assert.equal(badCode, 1);
    assert.match(bad.stderr.join('\n'), /InvalidArgument: params.node "9" is not an appliance/);
  });

  it('s3d admin status: all up, then an appliance down after kill -9', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    assert.equal(await main(['admin', '-config', configPath, '-endpoint', gateway.url, 'status'], {}, io), 0);
    const text = out.join('\n');
    assert.match(text, /appliances 3\/3 up, s3db 3\/3 up, leader s3db [123]/);
    assert.match(text, /Ring: epoch \d+/);
    for (const n of config.nodes)
      assert.match(text, new RegExp(`^${n.id} +127\\.0\\.0\\.1:${n.port} +up`, 'm'));

    await appliances[2]!.kill();
    const json: string[] = [];
    const code = await main(
      ['admin', '-config', configPath, '-endpoint', gateway.url, '-json', 'status'],
      {},
      { out: (l) => json.push(l), err: (l) => json.push(l) },
    );
    assert.equal(code, 3, 'status exits 3 while an appliance is down');
    const status = JSON.parse(json.join('\n')) as ClusterStatus;
    assert.deepEqual(
      status.nodes.map((n) => [n.id, n.up]),
      [
        ['1', true],
        ['2', true],
        ['3', false],
      ],
    );
    assert.equal(status.nodesUp, 2);
    assert.ok(status.db.members.every((m) => m.up && m.lag !== undefined));
  });
});

/**
 * Opens the status page in headless Chromium (Debian's, driven by playwright-core) and checks what a
 * person would see: the tables laid out with their rows, the health badge styled, a screenshot taken.
 */
async function renderInChromium(url: string, screenshotPath: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const response = await page.goto(url);
    assert.equal(response?.status(), 200);
    assert.equal(await page.locator('#health').innerText(), 'healthy');
    assert.equal(await page.locator('#nodes tr').count(), 4, 'header + 3 appliances');
    assert.equal(await page.locator('#db tr').count(), 4, 'header + 3 s3db members');
    const nodes = await page.locator('#nodes').boundingBox();
    assert.ok(
      nodes !== null && nodes.width > 400 && nodes.height > 60,
      `nodes table laid out: ${JSON.stringify(nodes)}`,
    );
    // The stylesheet applied (inline, allowed by the page's CSP): the badge is not the body's colour.
    // A string, evaluated in the page (this project compiles without the DOM's types).
    const [badge, body] = (await page.evaluate(
      "[getComputedStyle(document.querySelector('#health')).color, getComputedStyle(document.body).color]",
    )) as [string, string];
    assert.notEqual(badge, body, 'the health badge is styled');
    const png = await page.screenshot({ path: screenshotPath, fullPage: true });
    assert.ok(
      png.subarray(1, 4).toString() === 'PNG' && png.length > 20_000,
      `screenshot of ${png.length} bytes`,
    );
    assert.deepEqual(errors, [], 'no script or console errors');
  } finally {
    await browser.close();
  }
}
