import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../bin/s3d.ts';

const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const S3D = join(ROOT, 'bin', 's3d.mjs');
const EXAMPLE = join(ROOT, 'config', 'cluster.example.toml');
const DEV = join(ROOT, 'config', 'dev.toml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command as a child process, with only the environment given (plus PATH). */
function s3d(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [S3D, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Runs main() in this process, capturing its output. */
async function inProcess(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

let tmp = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 's3d-cli-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('s3d as a child process', { concurrency: true }, () => {
  it('prints the plan for the seed example config and exits 0', async () => {
    const run = await s3d(['-config', EXAMPLE, '-plan']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^mode: +dev: every s3db node, appliance and the gateway on this machine$/m);
    assert.match(run.stdout, /^backend: +distributed .*RS\(3,2\)/m);
    assert.match(run.stdout, /^s3db: +3 to start$/m);
    assert.match(
      run.stdout,
      /^ {2}s3db 1: api 127\.0\.0\.1:6660, raft 127\.0\.0\.1:7660, .*\(bootstrap leader\)$/m,
    );
    assert.match(run.stdout, /^appliances: 7 to start \(cluster has 7\)$/m);
    assert.match(run.stdout, /^ {2}node 7: 0\.0\.0\.0:9997, advertised as 127\.0\.0\.1, /m);
    assert.match(run.stdout, /^gateway: +S3 API over HTTP on port 443;/m);
    assert.match(run.stdout, /^buckets: +datastore, videos$/m);
  });

  it('a broken config prints one line per problem and exits 2, without a stack trace', async () => {
    const file = join(tmp, 'broken.toml');
    await writeFile(
      file,
      'colour = "blue"\n[rs]\ndata = 3\nparity = 2\n' +
        '[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 70000\n' +
        '[[nodes]]\nid = 1\nhost = "127.0.0.1"\nport = 9992\n' +
        '[[auth]]\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\n',
    );
    const run = await s3d([`-config=${file}`]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.deepEqual(run.stderr.trimEnd().split('\n'), [
      `${file}: colour: unknown key`,
      `${file}: nodes[0].port: must be at most 65535, got 70000`,
      `${file}: auth[0].secret_access_key: missing (required)`,
      `s3d: 3 problems; nothing started`,
    ]);
  });

  it('an unknown flag prints the usage and exits 2', async () => {
    const run = await s3d(['-bogus']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^s3d: flag provided but not defined: -bogus\nUsage:/);
  });

  it('environment variables choose the parts; flags beat them', async () => {
    const run = await s3d(['-config', DEV, '-db-node', '3', '-plan'], {
      CONFIG: join(tmp, 'missing.toml'),
      DB_ONLY: 'true',
      DB_NODE: '2',
      NODE: '/usr/local/bin/node', // npm's NODE (the node binary) is not a node id
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^mode: +database only \(-db\)$/m);
    assert.match(run.stdout, /^s3db: +1 to start$/m);
    assert.match(run.stdout, /^ {2}s3db 3: api 127\.0\.0\.1:6662, /m);
    assert.match(run.stdout, /^gateway: +none in this process$/m);
  });

  it('the default config path is config/server.toml (missing here: exit 2 naming it)', async () => {
    const run = await s3d([], {}, tmp);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      'config/server.toml: cannot read the config file: no such file\ns3d: 1 problem; nothing started\n',
    );
  });
});

describe('s3d main() in process', () => {
  it('-h prints the usage with every flag of spec §2 and exits 0', async () => {
    const help = await inProcess(['-h']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage:/);
    for (const flag of [
      '-config',
      '-backend',
      '-node',
      '-db',
      '-db-node',
      '-port',
      '-tls-cert',
      '-tls-key',
      '-host',
      '-plan',
    ])
      assert.match(help.stdout, new RegExp(`^  ${flag}( |$)`, 'm'), flag);
  });

  it('asking for a part the config does not have exits 2', async () => {
    const run = await inProcess(['-config', DEV, '-node', '9'], { PORT: '8443' });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^-node 9: .*dev\.toml has no \[\[nodes\]\] entry with id 9 \(ids: 1, 2, 3, 4, 5\)$/m,
    );
  });

  it('dispatches s3d certs to the certificate command', async () => {
    const run = await inProcess(['certs', '-h']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /s3d certs init/);
  });

  it('PORT and -port set the gateway port; a bad PORT is a usage error', async () => {
    const fromEnv = await inProcess(['-config', DEV, '-plan'], { PORT: '8443' });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, /on port 8443;/);
    const fromFlag = await inProcess(['-config', DEV, '--port', '9443', '-plan'], { PORT: '8443' });
    assert.match(fromFlag.stdout, /on port 9443;/);
    const bad = await inProcess(['-config', DEV], { PORT: 'https' });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^s3d: invalid value "https" for environment variable PORT: must be an integer\nUsage:/,
    );
  });

  it('rejects bad flag values and stray arguments', async () => {
    const cases: [string[], string][] = [
      [['-backend', 'tape'], 's3d: invalid value "tape" for -backend: must be filesystem or distributed'],
      [['-port', '70000'], 's3d: invalid value 70000 for -port: must be 0..65535'],
      [['-node', '-2'], 's3d: invalid value -2 for -node: must be a node id, or -1 for dev mode'],
      [['-config', DEV, 'start'], 's3d: unexpected argument "start"'],
      [['-config'], 's3d: flag needs an argument: -config'],
    ];
    for (const [args, message] of cases) {
      const run = await inProcess(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stderr.split('\n')[0], message);
    }
  });

  it('checks that -tls-cert and -tls-key can be read', async () => {
    const cert = join(tmp, 'gw.crt');
    await writeFile(cert, 'not checked beyond readability here');
    const missingKey = join(tmp, 'gw.key');
    const run = await inProcess(['-config', DEV, '-tls-cert', cert, '-tls-key', missingKey]);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `-tls-key ${missingKey}: cannot read: no such file\ns3d: 1 problem; nothing started`,
    );
    await writeFile(missingKey, 'key');
    const ok = await inProcess(['-config', DEV, '-tls-cert', cert, '-tls-key', missingKey, '-plan']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`TLS: certificate ${cert}, key ${missingKey}$`, 'm'));
  });

  it('-backend filesystem with the default-style config plans a single-node gateway', async () => {
    const run = await inProcess([
      '-config',
      join(ROOT, 'config', 'server.toml'),
      '-backend=filesystem',
      '-plan',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^backend: +filesystem \(-backend\)$/m);
    assert.match(run.stdout, new RegExp(`^ {2}objects under ${resolve('data/fs')}$`, 'm'));
  });
});
