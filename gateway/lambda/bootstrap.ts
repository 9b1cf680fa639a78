// Cold start: settings → cluster config → backend → gateway, once per execution environment.
// Connections to appliances and s3db are opened lazily by the backend's clients and reused by
// every later invocation in the same environment.
import { createDistributedBackend } from '../backend/distributed/index.ts';
import { FilesystemBackend } from '../backend/filesystem/index.ts';
import type { Backend } from '../backend/types.ts';
import { loadConfig, parseConfig } from '../../shared/config/index.ts';
import type { ClusterConfig } from '../../shared/config/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';
import { createLambdaGateway } from './lambda-gateway.ts';
import type { LambdaGateway } from './lambda-gateway.ts';
import { parameterReader } from './parameters.ts';
import type { ParameterReader } from './parameters.ts';
import type { LambdaSettings } from './settings.ts';

async function readConfig(settings: LambdaSettings, readParameter: ParameterReader): Promise<ClusterConfig> {
  const source = settings.config;
  switch (source.kind) {
    case 'file':
      return loadConfig(source.path);
    case 'inline':
      return parseConfig(source.toml, 'PREDASTORE_CONFIG_TOML');
    case 'parameter':
      return parseConfig(await readParameter(source.name), `ssm:${source.name}`);
  }
}

async function readTlsIdentity(prefix: string, readParameter: ParameterReader): Promise<TlsIdentity> {
  const [caPem, certPem, keyPem] = await Promise.all(
    ['ca.crt', 'gateway.crt', 'gateway.key'].map((name) => readParameter(`${prefix}/${name}`)),
  );
  return { caPem: caPem as string, certPem: certPem as string, keyPem: keyPem as string };
}

async function openBackend(
  settings: LambdaSettings,
  config: ClusterConfig,
  readParameter: ParameterReader,
): Promise<Backend> {
  if (settings.backend === 'filesystem') return FilesystemBackend.open({ basePath: config.basePath });
  const tls =
    settings.tlsParameterPrefix === undefined
      ? undefined
      : await readTlsIdentity(settings.tlsParameterPrefix, readParameter);
  return createDistributedBackend(config, tls === undefined ? {} : { tls });
}

export async function bootLambdaGateway(
  settings: LambdaSettings,
  env: Record<string, string | undefined>,
): Promise<LambdaGateway> {
  const readParameter = parameterReader({
    endpoint: settings.parametersEndpoint,
    sessionToken: env['AWS_SESSION_TOKEN'],
  });
  const config = await readConfig(settings, readParameter);
  const backend = await openBackend(settings, config, readParameter);
  return createLambdaGateway({
    config,
    backend,
    logLevel: settings.logLevel,
    ...(settings.signedHost === undefined ? {} : { signedHost: settings.signedHost }),
  });
}
