import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../shared/config/index.ts';
import { planStart } from '../../../shared/config/plan.ts';
import { childEnvironment, devChildSpecs } from '../../../bin/children.ts';
import { readyLines } from '../../../bin/ready-text.ts';
import { StopRequested, StopTrigger } from '../../../bin/stop-trigger.ts';

const DEV = parseConfig(
  [
    '[rs]',
    'data = 2',
    'parity = 1',
    '[[db]]',
    'id = 1',
    'host = "127.0.0.1"',
    'port = 23900',
    '[[db]]',
    'id = 2',
    'host = "127.0.0.1"',
    'port = 23901',
    ...[1, 2, 3].flatMap((id) => ['[[nodes]]', `id = ${id}`, 'host = "127.0.0.1"', `port = ${23910 + id}`]),
    '[[auth]]',
    'access_key_id = "UNITKEY"',
    'secret_access_key = "unit-test-secret"',
  ].join('\n'),
  'dev.toml',
  { cwd: '/srv' },
);
const OPTIONS = { dbOnly: false, port: 8443, portGiven: true };

describe('dev cluster child command lines', () => {
  const plan = planStart(DEV, OPTIONS, ['127.0.0.1']);
  const specs = devChildSpecs(plan, {
    execPath: '/usr/bin/node',
    s3dPath: '/app/bin/s3d.mjs',
    configPath: '/etc/predastore/dev.toml',
    cwd: '/srv',
    env: { PATH: '/bin', PORT: '8443', NODE: '-1', DB_NODE: '1', DB_ONLY: 'true', CONFIG: 'x', BACKEND: 'y' },
  });

  it('one child per s3db node and per appliance, each with its role on the command line', () => {
    assert.deepEqual(
      specs.map((s) => [s.role, s.command, s.args.join(' '), s.cwd]),
      [
        [
          's3db 1',
          '/usr/bin/node',
          '/app/bin/s3d.mjs -backend distributed -config /etc/predastore/dev.toml -db -db-node 1',
          '/srv',
        ],
        [
          's3db 2',
          '/usr/bin/node',
          '/app/bin/s3d.mjs -backend distributed -config /etc/predastore/dev.toml -db -db-node 2',
          '/srv',
        ],
        [
          'node 1',
          '/usr/bin/node',
          '/app/bin/s3d.mjs -backend distributed -config /etc/predastore/dev.toml -node 1',
          '/srv',
        ],
        [
          'node 2',
          '/usr/bin/node',
          '/app/bin/s3d.mjs -backend distributed -config /etc/predastore/dev.toml -node 2',
          '/srv',
        ],
        [
          'node 3',
          '/usr/bin/node',
          '/app/bin/s3d.mjs -backend distributed -config /etc/predastore/dev.toml -node 3',
          '/srv',
        ],
      ],
    );
  });

  it('children do not inherit the variables that choose parts (a child PORT would start a gateway)', () => {
    for (const spec of specs) assert.deepEqual(spec.env, { PATH: '/bin' });
    assert.deepEqual(childEnvironment({ HOME: '/root', PORT: '1', X: undefined }), { HOME: '/root' });
  });

  it('each child command line plans exactly its own part', () => {
    const db = planStart(DEV, { dbOnly: true, dbNode: 2, port: 443, portGiven: false }, ['127.0.0.1']);
    assert.deepEqual(
      [db.mode, db.dbNodes.map((d) => d.id), db.shardNodes.length, db.gateway],
      ['db-only', [2], 0, undefined],
    );
    const node = planStart(DEV, { node: 3, dbOnly: false, port: 443, portGiven: false }, ['127.0.0.1']);
    assert.deepEqual(
      [node.mode, node.dbNodes.length, node.shardNodes.map((n) => n.id), node.gateway],
      ['member', 0, [3], undefined],
    );
  });
});

describe('readyLines', () => {
  it('dev mode shows the endpoint, key id and secret', () => {
    const plan = planStart(DEV, OPTIONS, ['127.0.0.1']);
    assert.deepEqual(readyLines(plan, 'http://127.0.0.1:8443'), [
      's3d: ready: S3 endpoint http://127.0.0.1:8443',
      's3d:   access key id UNITKEY, secret access key unit-test-secret, region us-east-1',
      's3d:   e.g. aws --endpoint-url http://127.0.0.1:8443 s3 ls',
    ]);
  });

  it('other modes never print the secret; no [[auth]] is said plainly', () => {
    const gateway = planStart(DEV, { dbOnly: false, node: 1, port: 443, portGiven: true }, ['127.0.0.1']);
    assert.equal(readyLines(gateway, 'https://h:443')[1], 's3d:   access key id UNITKEY, region us-east-1');
    const bare = parseConfig('base_path = "/tmp/x"', 'fs.toml');
    const fs = planStart(bare, { dbOnly: false, port: 0, portGiven: true }, []);
    assert.match(readyLines(fs, 'http://127.0.0.1:1')[1] ?? '', /no \[\[auth\]\] entries/);
  });
});

describe('StopTrigger', () => {
  it('the first reason wins; race() throws StopRequested when the stop comes first', async () => {
    const trigger = new StopTrigger();
    assert.equal(await trigger.race(Promise.resolve(5)), 5);
    const never = new Promise<number>(() => {});
    const raced = trigger.race(never);
    assert.equal(trigger.fire({ kind: 'signal', signal: 'SIGTERM' }), true);
    assert.equal(trigger.fire({ kind: 'supervisor-gone' }), false);
    await assert.rejects(raced, (e: unknown) => e instanceof StopRequested && e.reason.kind === 'signal');
    assert.deepEqual(await trigger.stopped, { kind: 'signal', signal: 'SIGTERM' });
  });
});
