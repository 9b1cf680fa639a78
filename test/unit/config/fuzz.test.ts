import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { ConfigError, parseConfig } from '../../../shared/config/index.ts';

const FILE = 'fuzz.toml';

/** parseConfig must return a config or throw a ConfigError whose problems name the file. */
function parsesOrReports(text: string): boolean {
  try {
    parseConfig(text, FILE, { cwd: '/srv' });
    return true;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.ok(error.problems.length > 0);
    for (const problem of error.problems) assert.ok(problem.startsWith(`${FILE}: `), problem);
    return false;
  }
}

// Known key names (and a few misspellings) so generated documents reach deep into the schema.
const KEYS = [
  'version',
  'region',
  'base_path',
  'rs',
  'data',
  'parity',
  'db',
  'nodes',
  'buckets',
  'auth',
  'id',
  'host',
  'port',
  'raft_port',
  'advertise_host',
  'path',
  'leader',
  'access_key_id',
  'secret_access_key',
  'name',
  'type',
  'public',
  'encryption',
  'account_id',
  'policy',
  'bucket',
  'actions',
  'transport',
  'kind',
  'ring',
  'vnodes',
  'store',
  'compression',
  'gateway',
  'domain',
  'tls',
  'dir',
  'prot',
  'colour',
];

const scalar = fc.oneof(
  fc.integer({ min: -70000, max: 70000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constantFrom(
    '127.0.0.1',
    '0.0.0.0',
    '',
    'tls',
    'quic',
    's3:*',
    '*',
    'datastore',
    '1.0',
    'AKIAIOSFODNN7EXAMPLE',
  ),
  fc.string(),
);

const { doc } = fc.letrec<{ doc: Record<string, unknown>; value: unknown }>((tie) => ({
  doc: fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 6 }),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('doc'), { maxLength: 4 }),
    tie('doc'),
    fc.array(scalar, { maxLength: 3 }),
  ),
}));

describe('config fuzzing', () => {
  it('arbitrary text never escapes as anything but a ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => void parsesOrReports(text)),
      { numRuns: 300 },
    );
  });

  it('arbitrary TOML documents built from config keys never escape as anything but a ConfigError', () => {
    fc.assert(
      fc.property(doc, (document) => void parsesOrReports(stringify(document))),
      { numRuns: 400 },
    );
  });

  it('valid generated clusters parse, with the spec defaults applied', () => {
    const cluster = fc
      .record({
        nodeCount: fc.integer({ min: 1, max: 10 }),
        dbCount: fc.integer({ min: 0, max: 5 }),
        k: fc.integer({ min: 1, max: 24 }),
        m: fc.integer({ min: 1, max: 6 }),
        wildcard: fc.boolean(),
        raftPorts: fc.array(fc.option(fc.integer({ min: 20000, max: 20999 }), { nil: undefined }), {
          minLength: 5,
          maxLength: 5,
        }),
        leader: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
      })
      .filter((c) => c.k + c.m <= c.nodeCount);
    fc.assert(
      fc.property(cluster, (c) => {
        const host = c.wildcard ? '0.0.0.0' : '127.0.0.1';
        const document = {
          rs: { data: c.k, parity: c.m },
          db: Array.from({ length: c.dbCount }, (_, i) => ({
            id: i + 1,
            host,
            port: 6660 + i,
            ...(c.raftPorts[i] === undefined ? {} : { raft_port: (c.raftPorts[i] ?? 0) + i * 1000 }),
            ...(c.leader === i ? { leader: true } : {}),
          })),
          nodes: Array.from({ length: c.nodeCount }, (_, i) => ({ id: i, host, port: 9000 + i })),
        };
        const config = parseConfig(stringify(document), FILE, { cwd: '/srv' });
        assert.equal(config.nodes.length, c.nodeCount);
        assert.equal(config.dbIsEmbeddedDefault, c.dbCount === 0);
        assert.equal(config.db.filter((d) => d.leader).length, 1);
        config.db.forEach((d, i) => {
          const raft = c.raftPorts[i];
          if (!config.dbIsEmbeddedDefault)
            assert.equal(d.raftPort, raft === undefined ? d.port + 1000 : raft + i * 1000);
          assert.equal(d.advertiseHost, '127.0.0.1');
        });
        const expectedLeader = c.leader !== undefined && c.leader < c.dbCount ? c.leader + 1 : 1;
        assert.equal(config.db.find((d) => d.leader)?.id, expectedLeader);
      }),
      { numRuns: 200 },
    );
  });
});
