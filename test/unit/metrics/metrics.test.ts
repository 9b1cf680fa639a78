import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApplianceMetrics,
  GatewayMetrics,
  RateWindow,
  S3dbMetrics,
  instrumentS3dbClient,
  instrumentShardClient,
  lengthOf,
  metricsPortOf,
  nodeLabel,
  outcomeLabel,
  s3dbOperation,
  startMetricsListener,
  statusLabel,
} from '../../../shared/metrics/index.ts';
import { runWithRequestId } from '../../../shared/logging/index.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import type { ShardClient } from '../../../shared/shard-client/index.ts';
import { ShardTimeoutError } from '../../../shared/shard-client/index.ts';

/** Value of one sample line `name{labels} value` in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[4]);
  }
  return undefined;
}

/** Every non-comment line of the exposition is `name{labels} number` (the text format). */
function assertExposition(text: string): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/, line);
  }
}

describe('labels', () => {
  it('metrics port: explicit, off, default port + 2000, none past 65535', () => {
    assert.equal(metricsPortOf({ port: 9991 }), 11991);
    assert.equal(metricsPortOf({ port: 9991, metricsPort: 12000 }), 12000);
    assert.equal(metricsPortOf({ port: 9991, metricsPort: 0 }), undefined);
    assert.equal(metricsPortOf({ port: 64000 }), undefined);
  });
  it('node, outcome, status and s3db operation labels are bounded', () => {
    assert.equal(nodeLabel({ host: '127.0.0.1', port: 1, serverName: 'node-7.predastore.internal' }), '7');
    assert.equal(nodeLabel({ host: '10.0.0.1', port: 9991 }), '10.0.0.1:9991');
    assert.equal(outcomeLabel(), 'ok');
    assert.equal(outcomeLabel(new ShardTimeoutError('p', 5, 'PUT')), 'TIMEOUT');
    assert.equal(outcomeLabel(new Error('x')), 'error');
    assert.equal(outcomeLabel({ code: 'has spaces and "quotes"' }), 'error');
    assert.equal(statusLabel(404), '404');
    assert.equal(statusLabel(undefined), '0');
    assert.equal(s3dbOperation('/v1/get/pd.objects/00ff'), 'get');
    assert.equal(s3dbOperation('/v1/batch'), 'batch');
    assert.equal(s3dbOperation('/status'), 'status');
    assert.equal(s3dbOperation('/v1/scan/t?limit=1'), 'scan');
    assert.equal(s3dbOperation('/anything/else'), 'other');
    assert.equal(lengthOf('123'), 123);
    assert.equal(lengthOf(['5', '6']), 5);
    assert.equal(lengthOf('-1'), 0);
    assert.equal(lengthOf(undefined), 0);
  });
});

describe('RateWindow', () => {
  it('averages whole seconds of the window, excluding the current second and older samples', () => {
    const w = new RateWindow(10);
    const t0 = 1_000_000;
    w.add({ requests: 1, bytesIn: 100 }, t0 - 20_000); // outside the window by then
    for (let i = 0; i < 10; i++) w.add({ requests: 2, bytesOut: 50, errors: i === 0 ? 1 : 0 }, t0 + i * 1000);
    w.add({ requests: 99 }, t0 + 10_500); // the current second: not counted
    const r = w.perSecond(t0 + 10_500);
    assert.deepEqual(r, { requests: 2, bytesIn: 0, bytesOut: 50, errors: 0.1 });
  });
});

describe('GatewayMetrics', () => {
  it('counts requests by operation and status, bytes, and exposes valid text', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.recordRequest({ operation: 'PutObject', status: 200, seconds: 0.02, bytesIn: 1000, bytesOut: 0 });
    m.recordRequest({ operation: 'PutObject', status: 200, seconds: 0.03, bytesIn: 500, bytesOut: 0 });
    m.recordRequest({ operation: 'GetObject', status: 404, seconds: 0.001, bytesIn: 0, bytesOut: 300 });
    const text = await m.text();
    assertExposition(text);
    assert.equal(
      sample(text, 'predastore_gateway_requests_total', { operation: 'PutObject', status: '200' }),
      2,
    );
    assert.equal(
      sample(text, 'predastore_gateway_requests_total', { operation: 'GetObject', status: '404' }),
      1,
    );
    assert.equal(sample(text, 'predastore_gateway_received_bytes_total', { operation: 'PutObject' }), 1500);
    assert.equal(sample(text, 'predastore_gateway_sent_bytes_total', { operation: 'GetObject' }), 300);
    assert.equal(
      sample(text, 'predastore_gateway_request_duration_seconds_count', { operation: 'PutObject' }),
      2,
    );
    assert.equal(
      sample(text, 'predastore_gateway_request_duration_seconds_bucket', {
        operation: 'PutObject',
        le: '0.025',
      }),
      1,
    );
    assert.match(m.contentType, /^text\/plain/);
  });

  it('cluster gauges are read on scrape, cached, and absent when unreadable', async () => {
    let reads = 0;
    let fail = false;
    const m = new GatewayMetrics({
      processMetrics: false,
      cacheMs: 60_000,
      cluster: async () => {
        reads++;
        if (fail) throw new Error('s3db down');
        return {
          repairBacklog: 7,
          repairBacklogCapped: false,
          jobs: [
            { id: 'a'.repeat(32), kind: 'rebalance', state: 'running', done: 40, total: 100, bytes: 4096 },
            { id: 'b'.repeat(32), kind: 'gc', state: 'done', done: 5, bytes: 0 },
          ],
        };
      },
    });
    const text = await m.text();
    assertExposition(text);
    assert.equal(reads, 1, 'one read serves every gauge of a scrape');
    assert.equal(sample(text, 'predastore_cluster_repair_backlog'), 7);
    assert.equal(sample(text, 'predastore_cluster_jobs', { kind: 'rebalance', state: 'running' }), 1);
    assert.equal(sample(text, 'predastore_job_progress_done', { id: 'a'.repeat(32), kind: 'rebalance' }), 40);
    assert.equal(
      sample(text, 'predastore_job_progress_total', { id: 'a'.repeat(32), kind: 'rebalance' }),
      100,
    );
    assert.equal(
      sample(text, 'predastore_job_progress_done', { id: 'b'.repeat(32) }),
      undefined,
      'finished jobs have no progress series',
    );
    await m.text();
    assert.equal(reads, 1, 'cached within cacheMs');
    fail = true;
    const m2 = new GatewayMetrics({
      processMetrics: false,
      cluster: async () => Promise.reject(new Error('down')),
    });
    const text2 = await m2.text();
    assert.equal(sample(text2, 'predastore_cluster_read_ok'), 0);
    assert.equal(sample(text, 'predastore_cluster_read_ok'), 1);
  });

  it('instrumented shard client: counts by op/node/outcome, bytes, and sends the current request id', async () => {
    const seen: Array<{ op: string; requestId?: string }> = [];
    const fake = {
      async putShard(_p: unknown, _k: unknown, _m: unknown, _s: Uint8Array[], o?: { requestId?: string }) {
        seen.push({ op: 'put', ...(o?.requestId ? { requestId: o.requestId } : {}) });
      },
      async fetchShard(_p: unknown, _k: unknown, _r?: unknown, o?: { requestId?: string }) {
        seen.push({ op: 'fetch', ...(o?.requestId ? { requestId: o.requestId } : {}) });
        return { firstSegment: 0, segments: [Buffer.alloc(10), Buffer.alloc(5)], totalLength: 15 };
      },
      async stat() {
        throw new ShardTimeoutError('127.0.0.1:1', 10, 'STAT');
      },
      async putShards(targets: Array<{ peer: unknown; segments: Uint8Array[] }>) {
        // Like the real client: goes through this.putShard (the proxy's, so each is counted).
        return Promise.allSettled(targets.map((t) => this.putShard(t.peer, {}, {}, t.segments)));
      },
    };
    const m = new GatewayMetrics({ processMetrics: false });
    const client = instrumentShardClient(fake as unknown as ShardClient, m);
    const peer = { host: '127.0.0.1', port: 1, serverName: 'node-2.predastore.internal' };
    await runWithRequestId('REQ1', async () => {
      await client.putShard(
        peer,
        { versionId: Buffer.alloc(16), chunk: 0, shard: 0 } as never,
        { rsData: 2, rsParity: 1 },
        [Buffer.alloc(100)],
      );
      await client.fetchShard(peer, {} as never);
    });
    await assert.rejects(client.stat(peer), /timed out/);
    await client.putShards([{ peer, segments: [Buffer.alloc(1)] }] as never);
    assert.deepEqual(seen.slice(0, 2), [
      { op: 'put', requestId: 'REQ1' },
      { op: 'fetch', requestId: 'REQ1' },
    ]);
    assert.deepEqual(seen[2], { op: 'put' }, 'no request id outside a request');
    const text = await m.text();
    assert.equal(
      sample(text, 'predastore_gateway_shard_requests_total', { op: 'put', node: '2', outcome: 'ok' }),
      2,
    );
    assert.equal(
      sample(text, 'predastore_gateway_shard_requests_total', { op: 'stat', node: '2', outcome: 'TIMEOUT' }),
      1,
    );
    assert.equal(sample(text, 'predastore_gateway_shard_bytes_total', { op: 'put', direction: 'sent' }), 101);
    assert.equal(
      sample(text, 'predastore_gateway_shard_bytes_total', { op: 'fetch', direction: 'received' }),
      15,
    );
  });

  it('instrumented streamed PUT (openPut): one count when it finishes or is aborted, bytes, request id', async () => {
    const ids: Array<string | undefined> = [];
    const fake = {
      openPut(_p: unknown, _k: unknown, _m: unknown, _shape: unknown, o?: { requestId?: string }) {
        ids.push(o?.requestId);
        return { write: async () => {}, finish: async () => {}, abort: () => {} };
      },
    };
    const m = new GatewayMetrics({ processMetrics: false });
    const client = instrumentShardClient(fake as unknown as ShardClient, m);
    const peer = { host: '127.0.0.1', port: 1, serverName: 'node-4.predastore.internal' };
    await runWithRequestId('REQ9', async () => {
      const put = client.openPut(
        peer,
        {} as never,
        { rsData: 2, rsParity: 1 },
        { segmentCount: 2, totalBytes: 30 },
      );
      await put.write(Buffer.alloc(10));
      await put.write(Buffer.alloc(20));
      await put.finish();
    });
    const aborted = client.openPut(
      peer,
      {} as never,
      { rsData: 2, rsParity: 1 },
      { segmentCount: 1, totalBytes: 1 },
    );
    aborted.abort();
    aborted.abort();
    assert.deepEqual(ids, ['REQ9', undefined]);
    const text = await m.text();
    assert.equal(
      sample(text, 'predastore_gateway_shard_requests_total', { op: 'put', node: '4', outcome: 'ok' }),
      1,
    );
    assert.equal(
      sample(text, 'predastore_gateway_shard_requests_total', { op: 'put', node: '4', outcome: 'CANCELLED' }),
      1,
    );
    assert.equal(sample(text, 'predastore_gateway_shard_bytes_total', { op: 'put', direction: 'sent' }), 30);
  });

  it('instrumented s3db client: counts calls and repair-table puts as degraded reads', async () => {
    const fake = {
      async put() {
        return { version: 1 };
      },
      async get() {
        throw Object.assign(new Error('no leader'), { code: 'NoLeader' });
      },
      close() {},
    };
    const m = new GatewayMetrics({ processMetrics: false });
    const db = instrumentS3dbClient(fake as unknown as S3dbClient, m, (v) => Buffer.from(v).toString());
    await db.put('pd.repair', 'k', Buffer.from('missing'));
    await db.put('pd.objects', 'k', Buffer.from('x'));
    await assert.rejects(db.get('pd.objects', 'k'));
    db.close();
    const text = await m.text();
    assert.equal(sample(text, 'predastore_gateway_degraded_reads_total', { reason: 'missing' }), 1);
    assert.equal(sample(text, 'predastore_gateway_s3db_requests_total', { op: 'put', outcome: 'ok' }), 2);
    assert.equal(
      sample(text, 'predastore_gateway_s3db_requests_total', { op: 'get', outcome: 'NoLeader' }),
      1,
    );
  });
});

describe('appliance and s3db metrics', () => {
  it('appliance: requests, bytes, store gauges per volume, maintenance counters', async () => {
    const m = new ApplianceMetrics('3', async () => ({
      volumes: [
        { id: 1, liveBytes: 100, deadBytes: 20 },
        { id: 2, liveBytes: 50, deadBytes: 0 },
      ],
      shardCount: 4,
      liveBytes: 150,
      deadBytes: 20,
      disk: { freeBytes: 1000, totalBytes: 4000 },
      commits: 9,
    }));
    m.recordRequest('PUT_SHARD', 'OK', 3);
    m.recordRequest('FETCH_SHARD', 'NOT_FOUND', 1);
    m.recordBytes('written', 64);
    m.addCounterSource('healer', () => ({ repaired: 5, failed: 1 }));
    const text = await m.text();
    assertExposition(text);
    assert.equal(
      sample(text, 'predastore_appliance_requests_total', { node: '3', op: 'PUT_SHARD', status: 'OK' }),
      1,
    );
    assert.equal(
      sample(text, 'predastore_appliance_shard_bytes_total', { node: '3', direction: 'written' }),
      64,
    );
    assert.equal(sample(text, 'predastore_appliance_shards', { node: '3' }), 4);
    assert.equal(sample(text, 'predastore_appliance_volume_dead_bytes', { node: '3', volume: '1' }), 20);
    assert.equal(sample(text, 'predastore_appliance_disk_free_bytes', { node: '3' }), 1000);
    assert.equal(
      sample(text, 'predastore_appliance_maintenance', { node: '3', source: 'healer', name: 'repaired' }),
      5,
    );
  });

  it('s3db: Raft state gauges and API requests by operation', async () => {
    const m = new S3dbMetrics('2', () => ({
      term: 4,
      role: 'leader',
      leaderId: 2,
      commit: 90,
      applied: 88,
      lastIndex: 91,
      fsmApplied: 88,
    }));
    m.recordRequest('/v1/put/pd.objects/00', 200, 5);
    const text = await m.text();
    assertExposition(text);
    assert.equal(sample(text, 'predastore_s3db_term', { db: '2' }), 4);
    assert.equal(sample(text, 'predastore_s3db_is_leader', { db: '2' }), 1);
    assert.equal(sample(text, 'predastore_s3db_commit_index', { db: '2' }), 90);
    assert.equal(sample(text, 'predastore_s3db_requests_total', { db: '2', op: 'put', status: '200' }), 1);
  });

  it('the listener serves /metrics and nothing else', async () => {
    const listener = await startMetricsListener({
      host: '127.0.0.1',
      port: 0,
      sources: [{ text: async () => 'a 1\n' }, { text: async () => 'b 2\n' }],
    });
    try {
      const ok = await fetch(listener.url);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'a 1\nb 2\n');
      assert.match(ok.headers.get('content-type') ?? '', /text\/plain/);
      const other = await fetch(listener.url.replace('/metrics', '/other'));
      assert.equal(other.status, 404);
      await other.text();
    } finally {
      await listener.close();
    }
  });
});
