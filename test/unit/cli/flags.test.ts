import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, resolveFlags, UsageError } from '../../../bin/flags.ts';
import type { FlagSpec } from '../../../bin/flags.ts';

const SPECS: FlagSpec[] = [
  { name: 'config', kind: 'string', env: 'CONFIG', usage: 'config file' },
  { name: 'node', kind: 'int', env: 'NODE', usage: 'node id', envIgnored: (v) => v.includes('/') },
  { name: 'db', kind: 'bool', env: 'DB_ONLY', usage: 'db only' },
  { name: 'port', kind: 'int', env: 'PORT', usage: 'port' },
];

function usageError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseArgs (Go flag rules)', () => {
  it('accepts -flag value, -flag=value, --flag value and --flag=value', () => {
    for (const argv of [
      ['-config', 'a.toml'],
      ['-config=a.toml'],
      ['--config', 'a.toml'],
      ['--config=a.toml'],
    ])
      assert.equal(parseArgs(argv, SPECS).flags.get('config'), 'a.toml', argv.join(' '));
  });

  it('a value flag takes the next argument even when it starts with a dash', () => {
    const parsed = parseArgs(['-node', '-1', '-port', '8443'], SPECS);
    assert.equal(parsed.flags.get('node'), -1);
    assert.equal(parsed.flags.get('port'), 8443);
  });

  it('boolean flags take no separate value; -flag=false works', () => {
    assert.equal(parseArgs(['-db'], SPECS).flags.get('db'), true);
    assert.equal(parseArgs(['-db=false'], SPECS).flags.get('db'), false);
    assert.equal(parseArgs(['--db=1'], SPECS).flags.get('db'), true);
    const parsed = parseArgs(['-db', 'false'], SPECS);
    assert.equal(parsed.flags.get('db'), true);
    assert.deepEqual(parsed.positionals, ['false']);
  });

  it('stops at the first non-flag argument and after --', () => {
    assert.deepEqual(parseArgs(['-db', 'certs', 'init', '-dir', 'x'], SPECS).positionals, [
      'certs',
      'init',
      '-dir',
      'x',
    ]);
    assert.deepEqual(parseArgs(['--', '-db'], SPECS).positionals, ['-db']);
  });

  it('-h and -help ask for usage; the last of repeated flags wins', () => {
    assert.equal(parseArgs(['-h'], SPECS).help, true);
    assert.equal(parseArgs(['--help'], SPECS).help, true);
    assert.equal(parseArgs(['-port', '1', '-port', '2'], SPECS).flags.get('port'), 2);
  });

  it('rejects unknown flags, missing values and bad values with a clear message', () => {
    usageError(() => parseArgs(['-bogus'], SPECS), 'flag provided but not defined: -bogus');
    usageError(() => parseArgs(['-config'], SPECS), 'flag needs an argument: -config');
    usageError(
      () => parseArgs(['-port', 'abc'], SPECS),
      'invalid value "abc" for flag -port: must be an integer',
    );
    usageError(
      () => parseArgs(['-port=1.5'], SPECS),
      'invalid value "1.5" for flag -port: must be an integer',
    );
    usageError(
      () => parseArgs(['-db=maybe'], SPECS),
      'invalid value "maybe" for flag -db: must be true or false',
    );
    usageError(() => parseArgs(['---config'], SPECS), 'bad flag syntax: ---config');
  });
});

describe('resolveFlags: flag beats environment beats default', () => {
  it('takes the flag, else the environment variable, else nothing', () => {
    const env = { CONFIG: 'env.toml', PORT: '9000', DB_ONLY: 'true' };
    const fromEnv = resolveFlags(parseArgs([], SPECS), SPECS, env);
    assert.deepEqual(Object.fromEntries(fromEnv.values), { config: 'env.toml', port: 9000, db: true });
    assert.equal(fromEnv.sources.get('config'), 'CONFIG');
    const fromFlag = resolveFlags(parseArgs(['-config', 'flag.toml', '-db=false'], SPECS), SPECS, env);
    assert.equal(fromFlag.values.get('config'), 'flag.toml');
    assert.equal(fromFlag.values.get('db'), false);
    assert.equal(fromFlag.sources.get('config'), '-config');
    assert.equal(fromFlag.values.get('node'), undefined);
  });

  it('an empty variable is unset; an ignored value is unset; a bad value names the variable', () => {
    assert.equal(resolveFlags(parseArgs([], SPECS), SPECS, { PORT: '' }).values.has('port'), false);
    assert.equal(
      resolveFlags(parseArgs([], SPECS), SPECS, { NODE: '/usr/bin/node' }).values.has('node'),
      false,
    );
    assert.equal(resolveFlags(parseArgs([], SPECS), SPECS, { NODE: '-1' }).values.get('node'), -1);
    usageError(
      () => resolveFlags(parseArgs([], SPECS), SPECS, { PORT: 'http' }),
      'invalid value "http" for environment variable PORT: must be an integer',
    );
    usageError(
      () => resolveFlags(parseArgs([], SPECS), SPECS, { DB_ONLY: 'yes' }),
      'invalid value "yes" for environment variable DB_ONLY: must be true or false',
    );
  });
});
