import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHostPort, parseHostPort } from '../../../shared/net/host-port.ts';

test('host:port addresses put IPv6 hosts in brackets and split back to the bare host', () => {
  assert.equal(formatHostPort('127.0.0.1', 6660), '127.0.0.1:6660');
  assert.equal(formatHostPort('s3db-1.predastore.internal', 6660), 's3db-1.predastore.internal:6660');
  assert.equal(formatHostPort('::1', 6660), '[::1]:6660');
  for (const host of ['127.0.0.1', 'node-2.predastore.internal', '::1', 'fd00::5']) {
    assert.deepEqual(parseHostPort(formatHostPort(host, 443)), { host, port: 443 });
  }
});
