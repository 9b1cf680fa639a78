import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../shared/config/index.ts';
import { membersFromConfig } from '../../../appliance/s3db/node.ts';
import { parseRoute } from '../../../appliance/s3db/http/routes.ts';
import { parseBatchBody, parseRemoveBody } from '../../../appliance/s3db/http/bodies.ts';
import { S3dbError } from '../../../appliance/s3db/errors.ts';

test('a config without [[db]] yields the default embedded node on 127.0.0.1:6660 (raft 7660)', () => {
  const config = parseConfig(
    [1, 2, 3].map((i) => `[[nodes]]\nid = ${i}\nhost = "127.0.0.1"\nport = ${9990 + i}\n`).join(''),
    'inline.toml',
    { cwd: '/tmp' },
  );
  assert.deepEqual(membersFromConfig(config), [
    { id: config.db[0]!.id, host: '127.0.0.1', port: 6660, raftPort: 7660, advertiseHost: '127.0.0.1' },
  ]);
});

test('bind 0.0.0.0 advertises 127.0.0.1 unless advertise_host is set (spec §15)', () => {
  const config = parseConfig(
    '[[db]]\nid = 1\nhost = "0.0.0.0"\nport = 6660\n[[db]]\nid = 2\nhost = "0.0.0.0"\nadvertise_host = "10.0.0.2"\nport = 6661\nraft_port = 9000\n',
    'inline.toml',
    { cwd: '/tmp' },
  );
  const [a, b] = membersFromConfig(config);
  assert.equal(a!.advertiseHost, '127.0.0.1');
  assert.equal(a!.raftPort, 7660);
  assert.equal(b!.advertiseHost, '10.0.0.2');
  assert.equal(b!.raftPort, 9000);
});

test('routes: every spec §5 route parses; malformed ones are typed 4xx errors', () => {
  assert.deepEqual(parseRoute('POST', '/v1/put/objects/00ff', ''), {
    op: 'put',
    table: 'objects',
    key: new Uint8Array([0, 255]),
  });
  assert.deepEqual(parseRoute('GET', '/v1/get/objects/00ff', 'stale=true'), {
    op: 'get',
    table: 'objects',
    key: new Uint8Array([0, 255]),
    stale: true,
  });
  assert.equal(parseRoute('DELETE', '/v1/delete/objects/61', '').op, 'delete');
  assert.deepEqual(parseRoute('GET', '/v1/scan/objects', 'prefix=61&limit=5&start_after=6161'), {
    op: 'scan',
    table: 'objects',
    stale: false,
    prefix: new Uint8Array([0x61]),
    startAfter: new Uint8Array([0x61, 0x61]),
    limit: 5,
  });
  for (const [m, p] of [
    ['GET', '/v1/leader'],
    ['POST', '/v1/join'],
    ['POST', '/v1/remove'],
    ['POST', '/v1/batch'],
    ['GET', '/status'],
    ['GET', '/health'],
  ] as const) {
    assert.ok(parseRoute(m, p, ''));
  }
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof S3dbError) return e.code;
    }
    return 'none';
  };
  assert.equal(
    code(() => parseRoute('GET', '/v1/get/objects/abc', '')),
    'InvalidKey',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v1/get/objects/', '')),
    'InvalidKey',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v1/put/objects/00', '')),
    'InvalidRequest',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v1/scan/_members', '')),
    'InvalidTable',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v1/scan/t', 'limit=-1')),
    'InvalidRequest',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v2/x', '')),
    'NotFound',
  );
  assert.equal(
    code(() => parseRoute('GET', '/v1/remove', '')),
    'InvalidRequest',
  );
  assert.deepEqual(parseRemoveBody(new Uint8Array(Buffer.from('{"id":3}'))), { id: 3 });
  for (const bad of ['{"id":0}', '{"id":"3"}', '{}', 'x'])
    assert.equal(
      code(() => parseRemoveBody(new Uint8Array(Buffer.from(bad)))),
      'InvalidRequest',
      bad,
    );
  assert.equal(
    code(() => parseBatchBody(new Uint8Array(Buffer.from('{')))),
    'InvalidRequest',
  );
  assert.equal(
    code(() => parseBatchBody(new Uint8Array(Buffer.from('{"ops":[]}')))),
    'InvalidCommand',
  );
  assert.equal(
    code(() =>
      parseBatchBody(
        new Uint8Array(Buffer.from('{"ops":[{"kind":"put","table":"t","key":"6g","value":""}]}')),
      ),
    ),
    'InvalidKey',
  );
  const ok = parseBatchBody(
    new Uint8Array(
      Buffer.from(
        '{"preconditions":[{"kind":"versionEquals","table":"t","key":"61","version":0}],"ops":[{"kind":"put","table":"t","key":"61","value":"eA=="}]}',
      ),
    ),
  );
  assert.deepEqual(ok, {
    type: 'batch',
    preconditions: [{ kind: 'versionEquals', table: 't', key: new Uint8Array([0x61]), version: 0 }],
    ops: [{ kind: 'put', table: 't', key: new Uint8Array([0x61]), value: new Uint8Array([0x78]) }],
  });
});
