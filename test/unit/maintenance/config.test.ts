import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  MAINTENANCE_DEFAULTS,
  maintenanceOf,
  parseConfig,
} from '../../../shared/config/index.ts';

const base = [1, 2, 3]
  .map((id) => `[[nodes]]\nid = ${id}\nhost = "127.0.0.1"\nport = ${9000 + id}\n`)
  .join('');

test('[maintenance]: defaults, seconds → ms, 0 turns a schedule off', () => {
  const plain = parseConfig(base, 'a.toml', { cwd: '/tmp' });
  assert.deepEqual(maintenanceOf(plain), MAINTENANCE_DEFAULTS);
  const c = parseConfig(
    `${base}[maintenance]\nenabled = false\njob_poll_seconds = 0.5\nrepair_mb_per_second = 2\nrepair_concurrency = 4\nscrub_interval_seconds = 0\n`,
    'b.toml',
    { cwd: '/tmp' },
  );
  const m = maintenanceOf(c);
  assert.equal(m.enabled, false);
  assert.equal(m.jobPollMs, 500);
  assert.equal(m.repairBytesPerSecond, 2 * 1024 * 1024);
  assert.equal(m.repairConcurrency, 4);
  assert.equal(m.scrubIntervalMs, 0);
  assert.equal(m.orphanGraceMs, MAINTENANCE_DEFAULTS.orphanGraceMs);
});

test('[maintenance]: unknown keys and bad values are clear errors', () => {
  assert.throws(
    () => parseConfig(`${base}[maintenance]\nrepair_speed = 3\n`, 'c.toml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /repair_speed/);
      return true;
    },
  );
  assert.throws(() => parseConfig(`${base}[maintenance]\nrepair_concurrency = 0\n`, 'd.toml'), ConfigError);
  assert.throws(() => parseConfig(`${base}[maintenance]\njob_lease_seconds = -1\n`, 'e.toml'), ConfigError);
});
