import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  dbNode,
  isDevMode,
  loadConfig,
  parseConfig,
  shardNode,
} from '../../../shared/config/index.ts';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS, validateScheme } from '../../../shared/erasure/index.ts';

const CWD = '/srv/predastore';
const FILE = 'cluster.toml';

function parse(text: string) {
  return parseConfig(text, FILE, { cwd: CWD });
}

function problemsOf(text: string): readonly string[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the config to be rejected');
}

function nodes(count: number, extra = ''): string {
  let out = '';
  for (let i = 1; i <= count; i++)
    out += `[[nodes]]\nid = ${i}\nhost = "127.0.0.1"\nport = ${9990 + i}\n${extra}\n`;
  return out;
}

describe('the seed example config', () => {
  it('parses, with raft ports, advertise hosts, leader, credentials and cwd-relative paths', async () => {
    const config = await loadConfig('config/cluster.example.toml');
    assert.equal(config.region, 'ap-southeast-2');
    assert.deepEqual(config.rs, { data: 3, parity: 2 });
    assert.equal(config.dbIsEmbeddedDefault, false);
    assert.deepEqual(
      config.db.map((d) => [d.id, d.port, d.raftPort, d.advertiseHost, d.leader]),
      [
        [1, 6660, 7660, '127.0.0.1', true],
        [2, 6661, 7661, '127.0.0.1', false],
        [3, 6662, 7662, '127.0.0.1', false],
      ],
    );
    assert.equal(config.db[0]?.accessKeyId, 'AKIAIOSFODNN7EXAMPLE');
    assert.equal(config.db[0]?.secretAccessKey, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    assert.equal(config.db[1]?.path, resolve('s3/tests/data/distributed/db/node-2'));
    assert.equal(config.nodes.length, 7);
    assert.deepEqual(shardNode(config, 7), {
      id: 7,
      host: '0.0.0.0',
      port: 9997,
      advertiseHost: '127.0.0.1',
      path: resolve('s3/tests/data/distributed/nodes/node-7'),
    });
    assert.deepEqual(
      config.buckets.map((b) => [b.name, b.region, b.type, b.public, b.encryption]),
      [
        ['datastore', 'ap-southeast-2', 'distributed', false, ''],
        ['videos', 'ap-southeast-2', 'distributed', false, ''],
      ],
    );
    assert.equal(config.auth.length, 1);
    assert.equal(config.auth[0]?.accountId, '123456789012');
    assert.deepEqual(config.auth[0]?.policy[1], {
      bucket: 'videos',
      actions: ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListAllMyBuckets'],
    });
    assert.equal(isDevMode(config), true);
  });
});

describe('the shipped configs', () => {
  it('config/dev.toml: 3 s3db + 5 appliances on 127.0.0.1, RS(3,2), data under ./data', async () => {
    const config = await loadConfig('config/dev.toml');
    assert.deepEqual(config.rs, { data: 3, parity: 2 });
    assert.deepEqual(
      config.db.map((d) => `${d.host}:${d.port}/${d.raftPort}`),
      ['127.0.0.1:6660/7660', '127.0.0.1:6661/7661', '127.0.0.1:6662/7662'],
    );
    assert.deepEqual(
      config.nodes.map((n) => `${n.host}:${n.port}`),
      [9991, 9992, 9993, 9994, 9995].map((p) => `127.0.0.1:${p}`),
    );
    for (const path of [...config.db, ...config.nodes].map((n) => n.path).concat(config.tls.dir))
      assert.ok(path.startsWith(resolve('data') + '/'), path);
    assert.equal(config.auth.length, 1);
    assert.equal(isDevMode(config), true);
  });

  it('config/server.toml: single node, base_path ./data/fs, no [[db]]', async () => {
    const config = await loadConfig('config/server.toml');
    assert.equal(config.basePath, resolve('data/fs'));
    assert.equal(config.nodes.length, 0);
    assert.equal(config.dbIsEmbeddedDefault, true);
  });
});

describe('defaults', () => {
  it('an empty file gets every default, including the embedded s3db', () => {
    const config = parse('');
    assert.equal(config.version, '1.0');
    assert.equal(config.region, 'us-east-1');
    assert.equal(config.basePath, '/srv/predastore/data');
    assert.deepEqual(config.rs, { data: 2, parity: 1 });
    assert.equal(config.dbIsEmbeddedDefault, true);
    assert.deepEqual(config.db, [
      {
        id: 1,
        host: '127.0.0.1',
        port: 6660,
        raftPort: 7660,
        advertiseHost: '127.0.0.1',
        path: '/srv/predastore/data/db',
        leader: true,
        accessKeyId: 'predastore',
        secretAccessKey: 'predastore',
      },
    ]);
    assert.deepEqual(config.transport, { kind: 'tls' });
    assert.deepEqual(config.ring, { vnodes: 128 });
    assert.deepEqual(config.store, {
      volumeSizeMb: 1024,
      volumeSizeBytes: 1024 * 1024 * 1024,
      compression: 'none',
      compactionGarbageRatio: 0.5,
    });
    assert.deepEqual(config.gateway, { maxChunksInFlight: 16 });
    assert.deepEqual(config.tls, { dir: '/srv/predastore/data/tls' });
  });

  it('the embedded s3db uses the first [[auth]] credentials and <base_path>/db', () => {
    const config = parse(`base_path = "/var/lib/p"
[[auth]]
access_key_id = "FIRSTKEY"
secret_access_key = "first-secret"
[[auth]]
access_key_id = "SECONDKEY"
secret_access_key = "second-secret"
`);
    assert.equal(config.db[0]?.accessKeyId, 'FIRSTKEY');
    assert.equal(config.db[0]?.secretAccessKey, 'first-secret');
    assert.equal(config.db[0]?.path, '/var/lib/p/db');
    assert.equal(config.auth[1]?.accountId, '000000000000');
    assert.deepEqual(config.auth[1]?.policy, []);
  });

  it('raft_port, advertise_host, leader and paths follow the spec rules', () => {
    const config = parse(`
[[db]]
id = 2
host = "0.0.0.0"
port = 7000
[[db]]
id = 1
host = "0.0.0.0"
advertise_host = "10.0.1.5"
raft_port = 9000
path = "meta/one"
[[db]]
id = 3
host = "::"
advertise_host = ""
port = 7001
path = "/abs/three"
`);
    assert.deepEqual(
      config.db.map((d) => [d.id, d.port, d.raftPort, d.advertiseHost, d.leader, d.path]),
      [
        [2, 7000, 8000, '127.0.0.1', false, '/srv/predastore/data/db/node-2'],
        [1, 6660, 9000, '10.0.1.5', true, '/srv/predastore/meta/one'],
        [3, 7001, 8001, '::1', false, '/abs/three'],
      ],
    );
    assert.equal(dbNode(config, 1)?.leader, true);
    assert.equal(dbNode(config, 4), undefined);
    assert.equal(isDevMode(config), false, 'db 1 advertises 10.0.1.5');
  });

  it('the other sections take their values', () => {
    const config = parse(`
[transport]
kind = "quic"
[ring]
vnodes = 64
[store]
volume_size_mb = 8
compression = "lz4"
compaction_garbage_ratio = 0.25
[gateway]
domain = "S3.Example.com"
max_chunks_in_flight = 4
[tls]
dir = "certs"
`);
    assert.equal(config.transport.kind, 'quic');
    assert.equal(config.ring.vnodes, 64);
    assert.deepEqual(config.store, {
      volumeSizeMb: 8,
      volumeSizeBytes: 8 * 1024 * 1024,
      compression: 'lz4',
      compactionGarbageRatio: 0.25,
    });
    assert.deepEqual(config.gateway, { domain: 's3.example.com', maxChunksInFlight: 4 });
    assert.equal(config.tls.dir, '/srv/predastore/certs');
  });

  it('a remote host turns dev mode off', () => {
    assert.equal(isDevMode(parse(nodes(3))), true);
    assert.equal(
      isDevMode(parse(`${nodes(2)}[[nodes]]\nid = 9\nhost = "192.168.1.22"\nport = 9990\n`)),
      false,
    );
  });
});

describe('problems: one message per problem, naming file, key path and what is wrong', () => {
  it('duplicate node and db ids', () => {
    assert.deepEqual(
      problemsOf(`${nodes(2)}[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 9999\n
[[db]]\nid = 5\nhost = "127.0.0.1"\nport = 6000\n[[db]]\nid = 5\nhost = "127.0.0.1"\nport = 6001\n`),
      [
        'cluster.toml: db[1].id: duplicate id 5 (also db[0])',
        'cluster.toml: nodes[2].id: duplicate id 1 (also nodes[0])',
      ],
    );
  });

  it('RS needing more nodes than configured', () => {
    assert.deepEqual(problemsOf(`[rs]\ndata = 3\nparity = 2\n${nodes(4)}`), [
      'cluster.toml: rs: RS(3,2) stores each chunk on 5 different nodes, but only 4 [[nodes]] are configured',
    ]);
    assert.deepEqual(problemsOf(nodes(2)), [
      'cluster.toml: rs: RS(2,1) stores each chunk on 3 different nodes, but only 2 [[nodes]] are configured',
    ]);
  });

  it('RS limits', () => {
    assert.deepEqual(problemsOf(`[rs]\ndata = 25\nparity = 7\n`), [
      'cluster.toml: rs.data: must be at most 24, got 25',
      'cluster.toml: rs.parity: must be at most 6, got 7',
    ]);
    assert.deepEqual(problemsOf(`[rs]\ndata = 0\n`), [
      'cluster.toml: rs.data: must be at least 1, got 0',
      'cluster.toml: rs.parity: missing (required)',
    ]);
  });

  it('RS parity 0 is rejected with the reason, and every accepted RS is one the erasure codec accepts', () => {
    assert.deepEqual(problemsOf(`[rs]\ndata = 2\nparity = 0\n${nodes(2)}`), [
      'cluster.toml: rs.parity: must be at least 1, got 0: with no parity shard one lost node loses data, and a write needs k+1 durable shards',
    ]);
    assert.deepEqual(problemsOf(`[rs]\ndata = 2\nparity = -1\n`), [
      'cluster.toml: rs.parity: must be at least 1, got -1: with no parity shard one lost node loses data, and a write needs k+1 durable shards',
    ]);
    for (let k = 0; k <= MAX_DATA_SHARDS + 1; k++) {
      for (let m = -1; m <= MAX_PARITY_SHARDS + 1; m++) {
        let configAccepts = true;
        try {
          parse(`[rs]\ndata = ${k}\nparity = ${m}\n`);
        } catch (error) {
          assert.ok(error instanceof ConfigError);
          configAccepts = false;
        }
        let codecAccepts = true;
        try {
          validateScheme({ k, m });
        } catch {
          codecAccepts = false;
        }
        assert.equal(
          configAccepts,
          codecAccepts,
          `RS(${k},${m}): config ${configAccepts}, codec ${codecAccepts}`,
        );
      }
    }
  });

  it('ports out of range', () => {
    assert.deepEqual(
      problemsOf(
        `[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 70000\n[[nodes]]\nid = 2\nhost = "127.0.0.1"\nport = 0\n`,
      ),
      [
        'cluster.toml: nodes[0].port: must be at most 65535, got 70000',
        'cluster.toml: nodes[1].port: must be at least 1, got 0',
      ],
    );
    assert.deepEqual(problemsOf(`[[db]]\nid = 1\nhost = "127.0.0.1"\nport = 65000\n`), [
      'cluster.toml: db[0].raft_port: defaults to port + 1000 = 66000, above 65535; set raft_port',
    ]);
    assert.deepEqual(problemsOf(`[[db]]\nid = 1\nhost = "127.0.0.1"\nraft_port = 65536\n`), [
      'cluster.toml: db[0].raft_port: must be at most 65535, got 65536',
    ]);
  });

  it('unknown keys, anywhere, with a suggestion when one is close', () => {
    assert.deepEqual(
      problemsOf(
        `colour = "blue"\nregoin = "x"\n[rs]\ndata = 2\nparity = 1\nstripes = 4\n[[nodes]]\nid = 1\nhost = "127.0.0.1"\nprot = 9991\n`,
      ),
      [
        'cluster.toml: colour: unknown key',
        'cluster.toml: regoin: unknown key (did you mean "region"?)',
        'cluster.toml: rs.stripes: unknown key',
        'cluster.toml: nodes[0].port: missing (required)',
        'cluster.toml: nodes[0].prot: unknown key (did you mean "port"?)',
      ],
    );
    assert.deepEqual(
      problemsOf(
        `[[auth]]\naccess_key_id = "KEY12345"\nsecret_access_key = "secret-123"\npolicy = [{ bucket = "*", actions = ["s3:*"], effect = "Allow" }]\n`,
      ),
      ['cluster.toml: auth[0].policy[0].effect: unknown key'],
    );
  });

  it('a missing secret', () => {
    assert.deepEqual(
      problemsOf(`[[auth]]\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\naccount_id = "123456789012"\n`),
      ['cluster.toml: auth[0].secret_access_key: missing (required)'],
    );
    assert.deepEqual(
      problemsOf(`[[db]]\nid = 1\nhost = "127.0.0.1"\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\n`),
      ['cluster.toml: db[0].secret_access_key: missing: access_key_id is set, so its secret is required'],
    );
    assert.deepEqual(
      problemsOf(`[[auth]]\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\nsecret_access_key = ""\n`),
      ['cluster.toml: auth[0].secret_access_key: must be at least 8 characters long'],
    );
  });

  it('s3db nodes with different credentials', () => {
    assert.deepEqual(
      problemsOf(`[[db]]\nid = 1\nhost = "127.0.0.1"\naccess_key_id = "KEYONE"\nsecret_access_key = "secret-1"
[[db]]\nid = 2\nhost = "127.0.0.1"\nport = 6661\naccess_key_id = "KEYTWO"\nsecret_access_key = "secret-2"\n`),
      [
        "cluster.toml: db[1].access_key_id: differs from db[0]'s credentials; every s3db node must use the same key pair",
      ],
    );
  });

  it('more than one bootstrap leader', () => {
    assert.deepEqual(
      problemsOf(
        `[[db]]\nid = 1\nhost = "127.0.0.1"\nleader = true\n[[db]]\nid = 2\nhost = "127.0.0.1"\nport = 6661\nleader = true\n`,
      ),
      ['cluster.toml: db[1].leader: only one [[db]] entry may be the bootstrap leader; db[0] already is'],
    );
  });

  it('two listeners on the same advertised host and port', () => {
    assert.deepEqual(
      problemsOf(
        `[[db]]\nid = 1\nhost = "localhost"\nport = 6660\n[[nodes]]\nid = 1\nhost = "0.0.0.0"\nport = 7660\n${nodes(3).replaceAll('id = 1\n', 'id = 11\n')}`,
      ),
      ['cluster.toml: nodes[0].port: port 7660 on 127.0.0.1 is also used by db[0].raft_port'],
    );
    assert.deepEqual(
      problemsOf(
        `[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 6660\n${nodes(3).replaceAll('id = 1\n', 'id = 11\n')}`,
      ),
      [
        'cluster.toml: nodes[0].port: port 6660 on 127.0.0.1 is also used by the default embedded s3db (the file has no [[db]])',
      ],
    );
    // Same port on different machines is fine.
    parse(
      `[[nodes]]\nid = 1\nhost = "10.0.0.1"\nport = 9990\n[[nodes]]\nid = 2\nhost = "10.0.0.2"\nport = 9990\n[[nodes]]\nid = 3\nhost = "0.0.0.0"\nadvertise_host = "10.0.0.3"\nport = 9990\n`,
    );
  });

  it('hosts and advertise hosts', () => {
    assert.deepEqual(
      problemsOf(
        `[[db]]\nid = 1\nhost = "not a host"\n[[db]]\nid = 2\nhost = "0.0.0.0"\nport = 6661\nadvertise_host = "0.0.0.0"\n`,
      ),
      [
        'cluster.toml: db[0].host: "not a host" is neither an IP address nor a valid host name',
        'cluster.toml: db[1].advertise_host: "0.0.0.0" binds every interface; other nodes cannot connect to it',
      ],
    );
  });

  it('bucket names follow the S3 rules, once each', () => {
    assert.deepEqual(
      problemsOf(
        `[[buckets]]\nname = "My_Bucket"\n[[buckets]]\nname = "ok-bucket"\n[[buckets]]\nname = "ok-bucket"\n[[buckets]]\nname = "192.168.5.4"\n[[buckets]]\nname = "xn--abc"\n[[buckets]]\nname = "ab"\n[[buckets]]\nname = "a..b"\n[[buckets]]\nname = "nice-s3alias"\n[[buckets]]\nname = "-dash"\ntype = "tape"\n`,
      ),
      [
        'cluster.toml: buckets[8].type: must be one of "distributed", "filesystem", got "tape"',
        'cluster.toml: buckets[0].name: bucket name "My_Bucket" may contain only lowercase letters, digits, dots and hyphens',
        'cluster.toml: buckets[2].name: duplicate bucket "ok-bucket" (also buckets[1])',
        'cluster.toml: buckets[3].name: bucket name "192.168.5.4" must not be formatted as an IP address',
        'cluster.toml: buckets[4].name: bucket name "xn--abc" must not start with the reserved prefix "xn--"',
        'cluster.toml: buckets[5].name: bucket name "ab" must be 3 to 63 characters long',
        'cluster.toml: buckets[6].name: bucket name "a..b" must not contain two adjacent dots',
        'cluster.toml: buckets[7].name: bucket name "nice-s3alias" must not end with the reserved suffix "-s3alias"',
      ],
    );
  });

  it('auth entries: actions, policy buckets, account ids, duplicate keys', () => {
    assert.deepEqual(
      problemsOf(`[[auth]]\naccess_key_id = "KEY12345"\nsecret_access_key = "secret-123"\naccount_id = "12345"
policy = [{ bucket = "Bad_Bucket", actions = ["s3:GetObject"] }, { bucket = "*", actions = ["GetObject"] }]\n`),
      [
        'cluster.toml: auth[0].account_id: must be 12 digits, got "12345"',
        'cluster.toml: auth[0].policy[1].actions[0]: must look like "s3:GetObject", "s3:Get*" or "s3:*", got "GetObject"',
      ],
    );
    assert.deepEqual(
      problemsOf(`[[auth]]\naccess_key_id = "KEY12345"\nsecret_access_key = "secret-123"
[[auth]]\naccess_key_id = "KEY12345"\nsecret_access_key = "secret-456"\n`),
      ['cluster.toml: auth[1].access_key_id: duplicate access key "KEY12345" (also auth[0])'],
    );
    assert.deepEqual(
      problemsOf(
        `[[auth]]\naccess_key_id = "KEY12345"\nsecret_access_key = "secret-123"\npolicy = [{ bucket = "Bad_Bucket", actions = ["s3:Get*"] }]\n`,
      ),
      [
        'cluster.toml: auth[0].policy[0].bucket: must be "*" or a bucket name: bucket name "Bad_Bucket" may contain only lowercase letters, digits, dots and hyphens',
      ],
    );
  });

  it('wrong types and enum values', () => {
    assert.deepEqual(
      problemsOf(
        `version = "2.0"\nregion = 5\n[rs]\ndata = 1.5\nparity = "1"\n[transport]\nkind = "udp"\n[store]\ncompaction_garbage_ratio = 0\n[gateway]\ndomain = "bad domain"\n`,
      ),
      [
        'cluster.toml: version: must be one of "1.0", got "2.0"',
        'cluster.toml: region: must be a string, got 5',
        'cluster.toml: rs.data: must be an integer, got 1.5',
        'cluster.toml: rs.parity: must be a number, got "1"',
        'cluster.toml: transport.kind: must be one of "tls", "quic", got "udp"',
        'cluster.toml: store.compaction_garbage_ratio: must be greater than 0, got 0',
        'cluster.toml: gateway.domain: "bad domain" is neither an IP address nor a valid host name',
      ],
    );
  });

  it('a single [db] table where an array of tables is expected', () => {
    assert.deepEqual(problemsOf(`[db]\nid = 1\nhost = "127.0.0.1"\n`), [
      'cluster.toml: db: must be an array of tables ([[db]] entries), got a table',
    ]);
  });

  it('TOML syntax errors name the line and column', () => {
    const problems = problemsOf('region = "us-east-1"\nport = [\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^cluster\.toml: line 3, column 1: invalid TOML: /);
    assert.match(problemsOf('a = 1\na = 2\n')[0] ?? '', /^cluster\.toml: line 2, column \d+: invalid TOML: /);
  });

  it('every problem of a file is reported at once; the error message lists them', () => {
    const text = `colour = 1\n${nodes(3)}[[nodes]]\nid = 2\nhost = "127.0.0.1"\nport = 99999\n[[nodes]]\nid = 3\nhost = "127.0.0.1"\nport = 9000\n`;
    let caught: unknown;
    try {
      parse(text);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(caught.problems, [
      'cluster.toml: colour: unknown key',
      'cluster.toml: nodes[3].port: must be at most 65535, got 99999',
      'cluster.toml: nodes[4].id: duplicate id 3 (also nodes[2])',
    ]);
    assert.match(caught.message, /3 problems/);
    assert.ok(caught.message.includes('cluster.toml: nodes[4].id: duplicate id 3 (also nodes[2])'));
  });
});

describe('loadConfig', () => {
  it('a missing file is a ConfigError naming the file', async () => {
    const missing = join('config', 'no-such-file.toml');
    await assert.rejects(loadConfig(missing), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [`${missing}: cannot read the config file: no such file`]);
      return true;
    });
  });
});
