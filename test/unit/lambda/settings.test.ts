import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LambdaSettingsError, settingsFromEnv } from '../../../gateway/lambda/settings.ts';

describe('Lambda settings from the environment', () => {
  it('reads one config source and the defaults', () => {
    const s = settingsFromEnv({ PREDASTORE_CONFIG_PARAMETER: '/predastore/prod/cluster.toml' });
    assert.deepEqual(s.config, { kind: 'parameter', name: '/predastore/prod/cluster.toml' });
    assert.equal(s.backend, 'distributed');
    assert.equal(s.logLevel, 'warn');
    assert.equal(s.parametersEndpoint, 'http://localhost:2773');
    assert.equal(s.signedHost, undefined);
  });

  it('takes a signed host, TLS prefix and extension port', () => {
    const s = settingsFromEnv({
      PREDASTORE_CONFIG: '/etc/c.toml',
      PREDASTORE_SIGNED_HOST: 'S3.Example.com',
      PREDASTORE_TLS_PARAMETER_PREFIX: '/p/tls/',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2999',
      PREDASTORE_BACKEND: 'filesystem',
    });
    assert.deepEqual(s.config, { kind: 'file', path: '/etc/c.toml' });
    assert.equal(s.signedHost, 's3.example.com');
    assert.equal(s.tlsParameterPrefix, '/p/tls');
    assert.equal(s.parametersEndpoint, 'http://localhost:2999');
    assert.equal(s.backend, 'filesystem');
  });

  it('refuses no source, two sources and bad values, naming the variable', () => {
    assert.throws(() => settingsFromEnv({}), LambdaSettingsError);
    assert.throws(
      () => settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_CONFIG_TOML: 'x = 1' }),
      /set only one of/,
    );
    assert.throws(
      () => settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_BACKEND: 'memory' }),
      /PREDASTORE_BACKEND/,
    );
    assert.throws(
      () => settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_LOG_LEVEL: 'loud' }),
      /PREDASTORE_LOG_LEVEL/,
    );
    assert.throws(
      () => settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_SIGNED_HOST: 'https://x/' }),
      /PREDASTORE_SIGNED_HOST/,
    );
  });

  it('EMF metrics are on unless PREDASTORE_METRICS=off; other values are refused', () => {
    assert.equal(settingsFromEnv({ PREDASTORE_CONFIG: 'a' }).metrics, undefined);
    assert.equal(settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_METRICS: 'emf' }).metrics, undefined);
    assert.equal(settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_METRICS: 'off' }).metrics, 'off');
    assert.throws(
      () => settingsFromEnv({ PREDASTORE_CONFIG: 'a', PREDASTORE_METRICS: 'prometheus' }),
      /PREDASTORE_METRICS/,
    );
  });
});
