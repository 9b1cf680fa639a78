import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../shared/config/index.ts';
import { PlanError, planStart } from '../../../shared/config/plan.ts';
import type { StartOptions } from '../../../shared/config/plan.ts';
import { formatPlan } from '../../../shared/config/plan-format.ts';

const LOCAL = ['127.0.0.1', '::1'];
const DEFAULTS: StartOptions = { dbOnly: false, port: 443, portGiven: false };

const devConfig = parseConfig(
  `[[db]]\nid = 1\nhost = "127.0.0.1"\nport = 6660\n[[db]]\nid = 2\nhost = "127.0.0.1"\nport = 6661\n` +
    [1, 2, 3].map((i) => `[[nodes]]\nid = ${i}\nhost = "0.0.0.0"\nport = ${9990 + i}\n`).join(''),
  'dev.toml',
  { cwd: '/srv' },
);

// Three hosts, each with an s3db node and an appliance.
const multiHost = parseConfig(
  [1, 2, 3]
    .map(
      (i) =>
        `[[db]]\nid = ${i}\nhost = "0.0.0.0"\nadvertise_host = "10.0.0.${i}"\n` +
        `[[nodes]]\nid = ${i}\nhost = "10.0.0.${i}"\nport = 9990\n`,
    )
    .join(''),
  'cluster.toml',
  { cwd: '/srv' },
);

const noDbRemoteNodes = parseConfig(
  [1, 2, 3].map((i) => `[[nodes]]\nid = ${i}\nhost = "10.0.0.${i}"\nport = 9990\n`).join(''),
  'nodb.toml',
  { cwd: '/srv' },
);

const empty = parseConfig('base_path = "/var/lib/predastore"', 'server.toml', { cwd: '/srv' });

function planProblems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error.problems;
  }
  assert.fail('expected a PlanError');
}

const ids = (list: readonly { id: number }[]) => list.map((x) => x.id);

describe('planStart', () => {
  it('filesystem backend when the config has no [[nodes]] and no [[db]]', () => {
    const plan = planStart(empty, { ...DEFAULTS, port: 8443, portGiven: true }, LOCAL);
    assert.equal(plan.backend, 'filesystem');
    assert.equal(plan.mode, 'filesystem');
    assert.deepEqual(plan.dbNodes, []);
    assert.deepEqual(plan.gateway, { port: 8443, filesystemPath: '/var/lib/predastore' });
    assert.deepEqual(
      planProblems(() => planStart(empty, { ...DEFAULTS, backend: 'filesystem', node: 1 }, LOCAL)),
      [
        '-db, -node and -db-node run parts of the distributed backend; they cannot be used with -backend filesystem',
      ],
    );
  });

  it('dev mode when every host is local and no part is chosen, or with -node -1', () => {
    for (const options of [DEFAULTS, { ...DEFAULTS, node: -1 }, { ...DEFAULTS, node: -1, dbNode: -1 }]) {
      const plan = planStart(devConfig, options, LOCAL);
      assert.equal(plan.mode, 'dev');
      assert.equal(plan.backend, 'distributed');
      assert.deepEqual(ids(plan.dbNodes), [1, 2]);
      assert.deepEqual(ids(plan.shardNodes), [1, 2, 3]);
      assert.equal(plan.gateway?.port, 443);
    }
  });

  it('dev mode refuses remote hosts and a single -db-node', () => {
    assert.deepEqual(
      planProblems(() => planStart(multiHost, { ...DEFAULTS, node: -1 }, LOCAL)),
      [
        '-node -1 (dev mode) runs every part on this machine, but these are on other hosts: ' +
          's3db 1 at 10.0.0.1, s3db 2 at 10.0.0.2, s3db 3 at 10.0.0.3, node 1 at 10.0.0.1, node 2 at 10.0.0.2, node 3 at 10.0.0.3',
      ],
    );
    assert.deepEqual(
      planProblems(() => planStart(devConfig, { ...DEFAULTS, node: -1, dbNode: 2 }, LOCAL)),
      ['-db-node 2 cannot be combined with dev mode (-node -1), which runs every s3db node'],
    );
  });

  it('a multi-host config with no part chosen runs the gateway only', () => {
    const plan = planStart(multiHost, DEFAULTS, LOCAL);
    assert.equal(plan.mode, 'gateway');
    assert.deepEqual(plan.dbNodes, []);
    assert.deepEqual(plan.shardNodes, []);
    assert.equal(plan.gateway?.port, 443);
  });

  it('without [[db]] the default embedded s3db runs beside the gateway', () => {
    const plan = planStart(noDbRemoteNodes, DEFAULTS, LOCAL);
    assert.equal(plan.mode, 'gateway');
    assert.deepEqual(
      plan.dbNodes.map((d) => `${d.host}:${d.port}`),
      ['127.0.0.1:6660'],
    );
  });

  it('-node N -db-node N runs that appliance and s3db node, no gateway unless -port asks', () => {
    const here = [...LOCAL, '10.0.0.2'];
    const plan = planStart(multiHost, { ...DEFAULTS, node: 2, dbNode: 2 }, here);
    assert.equal(plan.mode, 'member');
    assert.deepEqual(ids(plan.shardNodes), [2]);
    assert.deepEqual(ids(plan.dbNodes), [2]);
    assert.equal(plan.gateway, undefined);
    const withGateway = planStart(multiHost, { ...DEFAULTS, node: 2, port: 8443, portGiven: true }, here);
    assert.deepEqual(withGateway.gateway, { port: 8443 });
    assert.deepEqual(withGateway.dbNodes, []);
    assert.deepEqual(ids(planStart(multiHost, { ...DEFAULTS, node: 2, dbNode: -1 }, here).dbNodes), [2]);
  });

  it('a chosen part must exist and live on this machine', () => {
    assert.deepEqual(
      planProblems(() => planStart(multiHost, { ...DEFAULTS, node: 9, dbNode: 7 }, LOCAL)),
      [
        '-node 9: cluster.toml has no [[nodes]] entry with id 9 (ids: 1, 2, 3)',
        '-db-node 7: cluster.toml has no [[db]] entry with id 7 (ids: 1, 2, 3)',
      ],
    );
    assert.deepEqual(
      planProblems(() => planStart(multiHost, { ...DEFAULTS, node: 3 }, LOCAL)),
      ['-node 3: its host 10.0.0.3 is not an address of this machine'],
    );
  });

  it('-db runs only s3db: the chosen node, or every one on this machine', () => {
    const plan = planStart(multiHost, { ...DEFAULTS, dbOnly: true, dbNode: 3 }, LOCAL);
    assert.equal(plan.mode, 'db-only');
    assert.deepEqual(ids(plan.dbNodes), [3], 'a wildcard bind is always possible');
    assert.deepEqual(plan.shardNodes, []);
    assert.equal(plan.gateway, undefined);
    assert.deepEqual(
      ids(planStart(multiHost, { ...DEFAULTS, dbOnly: true }, [...LOCAL, '10.0.0.1']).dbNodes),
      [1],
    );
    assert.deepEqual(ids(planStart(devConfig, { ...DEFAULTS, dbOnly: true }, LOCAL).dbNodes), [1, 2]);
    assert.deepEqual(ids(planStart(empty, { ...DEFAULTS, dbOnly: true }, LOCAL).dbNodes), [1]);
    assert.deepEqual(
      planProblems(() => planStart(multiHost, { ...DEFAULTS, dbOnly: true, node: 1 }, LOCAL)),
      [
        '-db runs only the database; it cannot be combined with -node 1',
        '-db-node -1: no [[db]] entry in cluster.toml is on this machine; choose one with -db-node <id> (ids: 1, 2, 3)',
      ],
    );
  });

  it('the distributed backend needs [[nodes]]', () => {
    assert.deepEqual(
      planProblems(() => planStart(empty, { ...DEFAULTS, backend: 'distributed' }, LOCAL)),
      [
        'server.toml: nodes: the distributed backend needs [[nodes]] entries (RS(2,1) needs at least 3), the file has none',
      ],
    );
  });

  it('TLS flags go together; the S3 port must not clash with a part of the same process', () => {
    assert.deepEqual(
      planProblems(() => planStart(empty, { ...DEFAULTS, tlsCert: 'c.pem' }, LOCAL)),
      ['-tls-cert is set but -tls-key is not; give both or neither'],
    );
    assert.deepEqual(
      planProblems(() => planStart(devConfig, { ...DEFAULTS, port: 7661, portGiven: true }, LOCAL)),
      ['-port 7661: the S3 API port is also used by s3db 2 (Raft) in this process'],
    );
    const plan = planStart(empty, { ...DEFAULTS, tlsCert: 'c.pem', tlsKey: 'k.pem' }, LOCAL);
    assert.deepEqual(plan.gateway, {
      port: 443,
      tlsCert: 'c.pem',
      tlsKey: 'k.pem',
      filesystemPath: '/var/lib/predastore',
    });
  });
});

describe('formatPlan', () => {
  it('lists what would start with addresses and paths', () => {
    const text = formatPlan(planStart(devConfig, { ...DEFAULTS, port: 8443, portGiven: true }, LOCAL));
    assert.match(text, /^mode: +dev: /m);
    assert.match(
      text,
      /^ {2}s3db 1: api 127\.0\.0\.1:6660, raft 127\.0\.0\.1:7660, advertised as 127\.0\.0\.1, data \/srv\/data\/db\/node-1 \(bootstrap leader\)$/m,
    );
    assert.match(
      text,
      /^ {2}node 3: 0\.0\.0\.0:9993, advertised as 127\.0\.0\.1, data \/srv\/data\/nodes\/node-3$/m,
    );
    assert.match(
      text,
      /^gateway: +S3 API over HTTP on port 8443; TLS: none \(give -tls-cert and -tls-key for HTTPS\)$/m,
    );
  });
});
