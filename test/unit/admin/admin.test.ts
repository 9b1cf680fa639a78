import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_ACTIONS,
  OpsRouteError,
  adminKeys,
  checkJobParams,
  collectClusterStatus,
  escapeHtml,
  isAdminAllowed,
  isOpsPath,
  parseCreateJobBody,
  parseOpsRoute,
  statusPageHtml,
  statusText,
} from '../../../gateway/admin/index.ts';
import type { ClusterStatus } from '../../../gateway/admin/index.ts';
import { loadConfigText } from './config-text.ts';
import { encodeJobRecord, JOBS_TABLE } from '../../../shared/jobs/index.ts';
import type { JobRecord } from '../../../shared/jobs/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';

const ID = '0123456789abcdef0123456789abcdef';

describe('admin auth rules', () => {
  it('only explicit admin: actions grant the admin API; s3:*, * and no policy never do', () => {
    const admin = [{ bucket: '*', actions: ['s3:*', 'admin:*'] }];
    const readOnly = [{ bucket: '*', actions: ['admin:Get*', 'admin:ListJobs'] }];
    assert.equal(isAdminAllowed(admin, ADMIN_ACTIONS.createJob), true);
    assert.equal(isAdminAllowed(readOnly, ADMIN_ACTIONS.getStatus), true);
    assert.equal(isAdminAllowed(readOnly, ADMIN_ACTIONS.listJobs), true);
    assert.equal(isAdminAllowed(readOnly, ADMIN_ACTIONS.createJob), false);
    assert.equal(isAdminAllowed(readOnly, ADMIN_ACTIONS.stopJob), false);
    assert.equal(isAdminAllowed([], ADMIN_ACTIONS.getStatus), false, 'no policy is not admin');
    assert.equal(isAdminAllowed([{ bucket: '*', actions: ['s3:*'] }], ADMIN_ACTIONS.getStatus), false);
    assert.equal(isAdminAllowed([{ bucket: '*', actions: ['*'] }], ADMIN_ACTIONS.getStatus), false);
    assert.deepEqual(
      adminKeys(
        [
          { accessKeyId: 'A', policy: admin },
          { accessKeyId: 'B', policy: [] },
          { accessKeyId: 'C', policy: readOnly },
        ],
        ADMIN_ACTIONS.createJob,
      ),
      ['A'],
    );
  });

  it('the config accepts admin:* policy actions', async () => {
    const config = await loadConfigText(
      '[[auth]]\naccess_key_id = "OPSKEY"\nsecret_access_key = "ops-secret-1"\npolicy = [{ bucket = "*", actions = ["admin:*"] }]\n',
    );
    assert.deepEqual(config.auth[0]?.policy, [{ bucket: '*', actions: ['admin:*'] }]);
    await assert.rejects(
      loadConfigText(
        '[[auth]]\naccess_key_id = "OPSKEY"\nsecret_access_key = "ops-secret-1"\npolicy = [{ bucket = "*", actions = ["root:*"] }]\n',
      ),
      /policy\[0\]\.actions\[0\]/,
    );
  });
});

describe('operator routes', () => {
  it('maps paths and methods to routes and actions', () => {
    assert.deepEqual(parseOpsRoute('GET', '/_predastore/metrics', ''), { kind: 'metrics' });
    assert.equal(parseOpsRoute('GET', '/_predastore/status', '').kind, 'statusPage');
    assert.deepEqual(parseOpsRoute('GET', '/_predastore/admin/status', ''), {
      kind: 'status',
      action: 'admin:GetStatus',
    });
    assert.deepEqual(
      parseOpsRoute('GET', '/_predastore/admin/jobs', 'limit=5&state=running,queued&kind=gc'),
      {
        kind: 'listJobs',
        action: 'admin:ListJobs',
        limit: 5,
        states: ['running', 'queued'],
        kinds: ['gc'],
      },
    );
    assert.equal(parseOpsRoute('POST', '/_predastore/admin/jobs', '').kind, 'createJob');
    assert.deepEqual(parseOpsRoute('GET', `/_predastore/admin/jobs/${ID}`, ''), {
      kind: 'getJob',
      action: 'admin:GetJob',
      id: ID,
    });
    assert.deepEqual(parseOpsRoute('POST', `/_predastore/admin/jobs/${ID}/stop`, ''), {
      kind: 'stopJob',
      action: 'admin:StopJob',
      id: ID,
    });
    assert.deepEqual(parseOpsRoute('POST', `/_predastore/admin/jobs/${ID}/resume`, ''), {
      kind: 'resumeJob',
      action: 'admin:ResumeJob',
      id: ID,
    });
    assert.equal(isOpsPath('/_predastore/admin/anything'), true);
    assert.equal(isOpsPath('/_predastore/health'), false);
    assert.equal(isOpsPath('/bucket/_predastore/metrics'), false);
  });

  it('answers typed errors: 404 unknown, 405 wrong method with Allow, 400 bad id / state / limit', () => {
    const code = (f: () => unknown): [number, string, string | undefined] => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof OpsRouteError);
        return [e.status, e.code, e.allow];
      }
      assert.fail('no error');
    };
    assert.deepEqual(
      code(() => parseOpsRoute('GET', '/_predastore/admin/nope', '')),
      [404, 'NotFound', undefined],
    );
    assert.deepEqual(
      code(() => parseOpsRoute('DELETE', '/_predastore/admin/status', '')),
      [405, 'MethodNotAllowed', 'GET, HEAD'],
    );
    assert.deepEqual(
      code(() => parseOpsRoute('GET', `/_predastore/admin/jobs/${ID}/stop`, '')),
      [405, 'MethodNotAllowed', 'POST'],
    );
    assert.deepEqual(
      code(() => parseOpsRoute('GET', '/_predastore/admin/jobs/XYZ', '')),
      [400, 'InvalidJobId', undefined],
    );
    assert.deepEqual(
      code(() => parseOpsRoute('GET', '/_predastore/admin/jobs', 'state=sleeping')),
      [400, 'InvalidArgument', undefined],
    );
    assert.deepEqual(
      code(() => parseOpsRoute('GET', '/_predastore/admin/jobs', 'limit=-1')),
      [400, 'InvalidArgument', undefined],
    );
    assert.deepEqual(
      code(() => parseCreateJobBody('{')),
      [400, 'MalformedJSON', undefined],
    );
    assert.deepEqual(
      code(() => parseCreateJobBody('{"kind":"explode"}')),
      [400, 'InvalidJobKind', undefined],
    );
    assert.deepEqual(
      code(() => parseCreateJobBody('{"kind":"gc","params":{"a":{}}}')),
      [400, 'InvalidArgument', undefined],
    );
    assert.deepEqual(
      code(() => parseCreateJobBody('{"kind":"gc","extra":1}')),
      [400, 'InvalidArgument', undefined],
    );
    assert.deepEqual(parseCreateJobBody('{"kind":"drain","params":{"node":"3","fast":true}}'), {
      kind: 'drain',
      params: { node: '3', fast: true },
    });
  });

  it('checks job params: drain needs a configured node, migrate-rs needs k and m', () => {
    const nodes = ['1', '2', '3'];
    assert.deepEqual(checkJobParams('drain', { node: 3 }, nodes), { node: '3' });
    assert.throws(() => checkJobParams('drain', {}, nodes), /needs params.node/);
    assert.throws(() => checkJobParams('drain', { node: '9' }, nodes), /not an appliance/);
    assert.deepEqual(checkJobParams('migrate-rs', { k: '4', m: 2, bucket: 'b' }, nodes), {
      k: 4,
      m: 2,
      bucket: 'b',
    });
    assert.throws(() => checkJobParams('migrate-rs', { k: 4 }, nodes), /params.m/);
    assert.throws(() => checkJobParams('migrate-rs', { k: 40, m: 2 }, nodes), /params.k/);
    assert.deepEqual(checkJobParams('gc', {}, nodes), {});
  });
});

function fakeStatus(overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  const job = {
    id: ID,
    kind: 'rebalance',
    state: 'running' as const,
    created: 1_000,
    updated: 61_000,
    params: {},
    progress: { done: 25, total: 100, bytes: 2048, unit: 'shards' },
  };
  return {
    generated: 121_000,
    region: 'us-east-1',
    nodes: [
      {
        id: '1',
        address: '127.0.0.1:9991',
        up: true,
        ring: 'active',
        stats: {
          shardCount: 12,
          liveBytes: 4096,
          usedBytes: 5000,
          diskTotalBytes: 1000,
          diskFreeBytes: 250,
          inflightRequests: 0,
          uptimeSeconds: 3700,
        },
      },
      {
        id: '2',
        address: '127.0.0.1:9992',
        up: false,
        ring: 'active',
        error: 'connect ECONNREFUSED <script>',
      },
    ],
    nodesUp: 1,
    db: {
      leaderId: 1,
      membersUp: 2,
      members: [
        {
          id: 1,
          address: '127.0.0.1:6660',
          up: true,
          role: 'leader',
          term: 3,
          commit: 50,
          applied: 50,
          lag: 0,
        },
        {
          id: 2,
          address: '127.0.0.1:6661',
          up: true,
          role: 'follower',
          term: 3,
          commit: 48,
          applied: 45,
          lag: 5,
        },
      ],
    },
    ring: {
      source: 's3db',
      epoch: 2,
      vnodes: 128,
      rs: { k: 3, m: 2 },
      nodes: [
        { id: '1', state: 'active' },
        { id: '2', state: 'draining' },
      ],
    },
    repairBacklog: { count: 10_000, capped: true },
    jobs: { active: [job], recent: [], counts: { running: 1 } },
    gateway: { requests: 2.5, bytesIn: 1024, bytesOut: 2048, errors: 0 },
    ...overrides,
  };
}

describe('status rendering', () => {
  it('text: a line per appliance and member, DOWN marked, lag, capped backlog, job progress', () => {
    const text = statusText(fakeStatus());
    assert.match(text, /appliances 1\/2 up, s3db 2\/2 up, leader s3db 1/);
    assert.match(text, /Ring: epoch 2 \(stored in s3db\), RS\(3,2\), 128 vnodes/);
    assert.match(text, /Repair backlog: 10000\+ task/);
    assert.match(text, /^1 +127\.0\.0\.1:9991 +up +active +12 +4\.0 KiB +75% +250 B +1h01m/m);
    assert.match(text, /^2 +127\.0\.0\.1:9992 +DOWN +active .*ECONNREFUSED/m);
    assert.match(text, /^2 +127\.0\.0\.1:6661 +up +follower +3 +48 +45 +5/m);
    assert.match(text, new RegExp(`^${ID} +rebalance +running +25/100 shards \\(25%\\) +1m00s ago`, 'm'));
  });

  it('page: self-contained HTML, escaped, marks degraded, reloads itself', () => {
    const html = statusPageHtml(fakeStatus(), { refreshSeconds: 7 });
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<meta http-equiv="refresh" content="7">/);
    assert.ok(!html.includes('<script'), 'no scripts (the error text is escaped)');
    assert.ok(html.includes('ECONNREFUSED &lt;script&gt;'));
    assert.match(html, /id="health">degraded</);
    assert.ok(!/(src|href)="http/.test(html), 'no external assets');
    assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 2 + 1 + 2 + 1 + 1);
    const healthy = statusPageHtml(
      fakeStatus({ nodesUp: 2, nodes: [fakeStatus().nodes[0]!, { ...fakeStatus().nodes[0]!, id: '2' }] }),
    );
    assert.match(healthy, /id="health">healthy</);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('collectClusterStatus', () => {
  it('combines STAT, s3db /status, ring, repair backlog and jobs; unreadable parts say why', async () => {
    const config = await loadConfigText(
      [
        '[[db]]\nid = 1\nhost = "127.0.0.1"\nport = 6660',
        '[[db]]\nid = 2\nhost = "127.0.0.1"\nport = 6661',
        '[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 9991',
        '[[nodes]]\nid = 2\nhost = "127.0.0.1"\nport = 9992',
        '[[nodes]]\nid = 3\nhost = "127.0.0.1"\nport = 9993',
      ].join('\n'),
    );
    const job: JobRecord = {
      v: 1,
      id: ID,
      kind: 'gc',
      params: {},
      state: 'running',
      created: 1,
      updated: 2,
      progress: { done: 1, bytes: 0, unit: 'records' },
    };
    const repairs = Array.from({ length: 5 }, (_, i) => ({
      key: new Uint8Array([i]),
      value: new Uint8Array(),
      version: 1,
    }));
    const db = {
      async get() {
        return undefined; // no ring record yet: the config's
      },
      async batch() {
        return { ok: true as const, version: 1 };
      },
      async scan(table: string, opts: { limit?: number; startAfter?: Uint8Array } = {}) {
        if (table === TABLES.repair) {
          const from = opts.startAfter === undefined ? 0 : opts.startAfter[0]! + 1;
          const items = repairs.slice(from, from + (opts.limit ?? 1000));
          const truncated = from + items.length < repairs.length;
          return { items, truncated, ...(truncated ? { nextStartAfter: items[items.length - 1]!.key } : {}) };
        }
        if (table === JOBS_TABLE)
          return {
            items: [{ key: new Uint8Array(), value: encodeJobRecord(job), version: 1 }],
            truncated: false,
          };
        return { items: [], truncated: false };
      },
      async status(node?: string) {
        if (node === '127.0.0.1:6661') throw new Error('connect ECONNREFUSED');
        return { role: 'leader', term: 2, leaderId: 1, commit: 10, applied: 9, fsmApplied: 8, lastIndex: 10 };
      },
    };
    const status = await collectClusterStatus({
      config,
      db,
      stat: async (node) => {
        if (node.id === 2) throw new Error('unreachable');
        return {
          shardCount: 1,
          liveBytes: 2,
          usedBytes: 3,
          diskTotalBytes: 10,
          diskFreeBytes: 5,
          inflightRequests: 0,
          uptimeSeconds: 1,
        };
      },
      now: () => 99,
      repairCountCap: 3,
    });
    assert.deepEqual(
      status.nodes.map((n) => [n.id, n.up, n.ring]),
      [
        ['1', true, 'active'],
        ['2', false, 'active'],
        ['3', true, 'active'],
      ],
    );
    assert.equal(status.nodesUp, 2);
    assert.equal(status.nodes[1]?.error, 'unreachable');
    assert.equal(status.db.leaderId, 1);
    assert.deepEqual(
      status.db.members.map((m) => [m.id, m.up, m.lag]),
      [
        [1, true, 2],
        [2, false, undefined],
      ],
    );
    assert.equal(status.ring.source, 'config');
    assert.deepEqual(status.repairBacklog, { count: 3, capped: true });
    assert.deepEqual(
      status.jobs.active.map((j) => j.id),
      [ID],
    );
    assert.equal(status.generated, 99);
  });
});
