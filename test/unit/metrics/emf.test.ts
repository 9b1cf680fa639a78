// The Lambda gateway's EMF lines: valid Embedded Metric Format, right counts per (operation, status),
// reset after a flush, latency arrays capped at EMF's 100 values; GatewayMetrics feeds a recorder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EMF_METRICS, EmfRecorder, GatewayMetrics } from '../../../shared/metrics/index.ts';
import { parseEmfLine } from './emf-check.ts';

describe('EMF recorder', () => {
  it('one line per operation and status, with the counts, bytes and latencies', () => {
    const emf = new EmfRecorder({ FunctionName: 'gw' });
    emf.record({ operation: 'PutObject', status: 200, seconds: 0.012, bytesIn: 100, bytesOut: 0 });
    emf.record({ operation: 'PutObject', status: 200, seconds: 0.02, bytesIn: 50, bytesOut: 0 });
    emf.record({ operation: 'GetObject', status: 404, seconds: 0.003, bytesIn: 0, bytesOut: 300 });
    emf.record({ operation: 'GetObject', status: 503, seconds: 0.5, bytesIn: 0, bytesOut: 200 });
    assert.equal(emf.pending, 4);
    const lines = emf.flush(1_700_000_000_000).map(parseEmfLine);
    assert.equal(lines.length, 3);
    const put = lines.find((l) => l.Operation === 'PutObject')!;
    assert.deepEqual(
      [put.Status, put.Requests, put.Errors, put.Latency, put.BytesIn, put.BytesOut, put['FunctionName']],
      ['200', 2, 0, [12, 20], 150, 0, 'gw'],
    );
    assert.equal(put._aws.Timestamp, 1_700_000_000_000);
    assert.deepEqual(put._aws.CloudWatchMetrics[0]!.Dimensions, [['Operation', 'Status']]);
    assert.deepEqual(
      put._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name),
      EMF_METRICS.map((m) => m.Name),
    );
    const missing = lines.find((l) => l.Operation === 'GetObject' && l.Status === '404')!;
    assert.deepEqual([missing.Requests, missing.Errors, missing.Latency, missing.BytesOut], [1, 0, 3, 300]);
    const failed = lines.find((l) => l.Status === '503')!;
    assert.deepEqual([failed.Requests, failed.Errors], [1, 1]);
    assert.equal(emf.pending, 0);
    assert.deepEqual(emf.flush(), [], 'a flush starts afresh');
  });

  it('caps the latency array at 100 values but counts every request', () => {
    const emf = new EmfRecorder();
    for (let i = 0; i < 250; i++)
      emf.record({ operation: 'HeadObject', status: 200, seconds: i / 1000, bytesIn: 0, bytesOut: 0 });
    const [line] = emf.flush().map(parseEmfLine);
    assert.equal(line!.Requests, 250);
    assert.equal((line!.Latency as number[]).length, 100);
  });

  it('GatewayMetrics hands every request sample to onRequest as well', async () => {
    const emf = new EmfRecorder();
    const metrics = new GatewayMetrics({ processMetrics: false, onRequest: (s) => emf.record(s) });
    metrics.recordRequest({
      operation: 'ListObjectsV2',
      status: 200,
      seconds: 0.001,
      bytesIn: 0,
      bytesOut: 9,
    });
    const [line] = emf.flush().map(parseEmfLine);
    assert.deepEqual([line!.Operation, line!.Requests, line!.BytesOut], ['ListObjectsV2', 1, 9]);
    assert.match(
      await metrics.text(),
      /predastore_gateway_requests_total\{operation="ListObjectsV2",status="200"\} 1/,
    );
  });
});
