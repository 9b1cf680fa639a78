import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAdminArgs } from '../../../bin/admin/args.ts';
import { RateEstimator, etaSeconds, renderBar, renderProgress } from '../../../bin/admin/progress.ts';
import { followJob } from '../../../bin/admin/follow.ts';
import { UsageError } from '../../../bin/flags.ts';
import type { JobRecord } from '../../../shared/jobs/index.ts';

const ID = 'fedcba9876543210fedcba9876543210';

describe('s3d admin arguments', () => {
  it('flags before and after the command, env fallbacks, defaults', () => {
    const a = parseAdminArgs(['-config', 'c.toml', 'status', '-json'], {
      PREDASTORE_ENDPOINT: 'http://10.0.0.1:80/',
    });
    assert.equal(a.configPath, 'c.toml');
    assert.equal(a.endpoint, 'http://10.0.0.1:80');
    assert.equal(a.json, true);
    assert.deepEqual(a.command, { kind: 'status' });
    const b = parseAdminArgs(['status'], {
      AWS_ACCESS_KEY_ID: 'K',
      AWS_SECRET_ACCESS_KEY: 'S',
      CONFIG: 'x.toml',
    });
    assert.equal(b.accessKeyId, 'K');
    assert.equal(b.secretAccessKey, 'S');
    assert.equal(b.configPath, 'x.toml');
    assert.equal(b.endpoint, 'http://127.0.0.1:8443');
    assert.equal(b.intervalMs, 1000);
    const c = parseAdminArgs(['-access-key', 'A', '--secret-key=B', 'gc'], { AWS_ACCESS_KEY_ID: 'K' });
    assert.equal(c.accessKeyId, 'A', 'a flag beats the environment');
    assert.deepEqual(c.command, { kind: 'run', job: 'gc', params: {} });
  });

  it('job commands: node arguments, key=value params, migrate-rs scheme, ids', () => {
    assert.deepEqual(parseAdminArgs(['drain', '3', '-stop-on-exit'], {}).command, {
      kind: 'run',
      job: 'drain',
      params: { node: '3' },
    });
    assert.equal(parseAdminArgs(['drain', '3', '-stop-on-exit'], {}).stopOnExit, true);
    assert.deepEqual(parseAdminArgs(['scrub'], {}).command, { kind: 'run', job: 'scrub', params: {} });
    assert.deepEqual(
      parseAdminArgs(['migrate-rs', '-k', '4', '-m', '2', 'bucket=photos', 'dry=true'], {}).command,
      {
        kind: 'run',
        job: 'migrate-rs',
        params: { k: 4, m: 2, bucket: 'photos', dry: true },
      },
    );
    assert.deepEqual(parseAdminArgs(['repair', 'limit=100'], {}).command, {
      kind: 'run',
      job: 'repair',
      params: { limit: 100 },
    });
    assert.deepEqual(parseAdminArgs(['stop', ID], {}).command, { kind: 'stop', id: ID });
    assert.deepEqual(parseAdminArgs(['resume', ID], {}).command, { kind: 'resume', id: ID });
    assert.deepEqual(parseAdminArgs(['status-url', '-expires', '60'], {}).command, {
      kind: 'status-url',
      expires: 60,
    });
    assert.equal(parseAdminArgs(['-h'], {}).help, true);
  });

  it('bad command lines are usage errors with the reason', () => {
    const bad: Array<[string[], RegExp]> = [
      [[], /no command/],
      [['explode'], /unknown command "explode"/],
      [['drain'], /drain needs the appliance id/],
      [['migrate-rs', '-k', '4'], /-k K -m M/],
      [['stop'], /needs a job id/],
      [['stop', 'nothex'], /is not a job id/],
      [['status', 'extra'], /unexpected argument "extra"/],
      [['gc', 'stray'], /unexpected argument "stray"/],
      [['-endpoint', 'ftp://x', 'status'], /-endpoint/],
      [['-interval', '5', 'gc'], /-interval/],
      [['-bogus', 'status'], /flag provided but not defined: -bogus/],
    ];
    for (const [argv, message] of bad)
      assert.throws(
        () => parseAdminArgs(argv, {}),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
        argv.join(' '),
      );
  });
});

describe('progress rendering', () => {
  it('bar, percent, rate and ETA from done/total', () => {
    assert.equal(renderBar(5, 10, 10), '[#####.....]');
    assert.equal(renderBar(20, 10, 4), '[####]');
    assert.equal(renderBar(0, 0, 4), '[....]');
    const rates = new RateEstimator(10_000);
    rates.add(0, 100, 0);
    assert.equal(rates.rate(), undefined, 'one sample: no rate yet');
    rates.add(2000, 300, 2 * 1048576);
    const rate = rates.rate();
    assert.deepEqual(rate, { perSecond: 100, bytesPerSecond: 1048576 });
    assert.equal(etaSeconds(300, 1000, rate?.perSecond), 7);
    assert.equal(etaSeconds(300, undefined, 100), undefined);
    assert.equal(etaSeconds(300, 1000, 0), undefined);
    const line = renderProgress(
      { kind: 'rebalance', state: 'running', done: 300, total: 1000, bytes: 3 * 1048576, unit: 'shards' },
      rate,
      { barWidth: 10 },
    );
    assert.equal(
      line,
      'rebalance running  [###.......]  300/1000 shards 30%  3.0 MiB  100 shards/s  1.0 MiB/s  ETA 7s',
    );
    assert.equal(
      renderProgress({ kind: 'gc', state: 'queued', done: 0, bytes: 0, unit: 'records' }, undefined),
      'gc queued  0 records',
    );
    const long = renderProgress(
      { kind: 'repair', state: 'running', done: 10, total: 100_000, bytes: 0, unit: 'chunks' },
      { perSecond: 2.5, bytesPerSecond: 0 },
    );
    assert.match(long, /2\.5 chunks\/s {2}ETA 11h06m$/);
  });

  it('the rate starts over when progress goes backwards (a resumed or taken-over job)', () => {
    const rates = new RateEstimator();
    rates.add(0, 500, 0);
    rates.add(1000, 600, 0);
    rates.add(2000, 10, 0);
    assert.equal(rates.rate(), undefined);
    rates.add(3000, 60, 0);
    assert.equal(rates.rate()?.perSecond, 50);
  });
});

function job(state: JobRecord['state'], done: number, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    id: ID,
    kind: 'gc',
    params: {},
    state,
    created: 0,
    updated: 0,
    progress: { done, total: 4, bytes: 0, unit: 'records' },
    ...extra,
  };
}

describe('following a job', () => {
  it('redraws in place on a terminal and ends with the final record', async () => {
    const states = [job('queued', 0), job('running', 1), job('running', 3), job('done', 4)];
    const written: string[] = [];
    let clock = 0;
    const result = await followJob({
      fetch: async () => states.shift() ?? assert.fail('polled after the end'),
      write: (t) => written.push(t),
      isTTY: true,
      intervalMs: 1,
      now: () => (clock += 1000),
    });
    assert.equal(result.interrupted, false);
    assert.equal(result.record.state, 'done');
    assert.equal(written.length, 4);
    assert.ok(written.every((w) => w.startsWith('\r\x1b[2K')));
    assert.ok(written[3]!.endsWith('\n'));
    assert.match(written[2]!, /gc running {2}\[#+\.+\] {2}3\/4 records 75%/);
  });

  it('prints plain lines at most every plainEveryMs when not a terminal, survives poll errors', async () => {
    const states: Array<JobRecord | Error> = [
      job('running', 1),
      new Error('gateway restarting'),
      job('running', 2),
      job('running', 3),
      job('failed', 3, { error: 'disk gone' }),
    ];
    const written: string[] = [];
    let clock = 0;
    const result = await followJob({
      fetch: async () => {
        const next = states.shift();
        if (next instanceof Error) throw next;
        return next ?? assert.fail('polled after the end');
      },
      write: (t) => written.push(t),
      isTTY: false,
      intervalMs: 1,
      plainEveryMs: 2500,
      now: () => (clock += 1000),
    });
    assert.equal(result.record?.state, 'failed');
    assert.ok(written.every((w) => !w.includes('\r') && w.endsWith('\n')));
    assert.ok(written.length >= 2 && written.length < 4, `throttled: ${written.length} lines`);
    assert.match(written[written.length - 1]!, /^gc failed/);
  });

  it('an interrupt ends the follow at once (even mid-wait) without a final state', async () => {
    const interrupt = new AbortController();
    let polls = 0;
    const started = Date.now();
    const result = await followJob({
      fetch: async () => {
        polls++;
        setTimeout(() => interrupt.abort(), 20);
        return job('running', polls);
      },
      write: () => {},
      isTTY: false,
      intervalMs: 60_000,
      signal: interrupt.signal,
    });
    assert.equal(result.interrupted, true);
    assert.equal(result.record?.progress.done, 1);
    assert.ok(Date.now() - started < 10_000, 'the wait between polls was cut short');
  });
});
