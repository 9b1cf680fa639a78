// Cold start: settings → cluster config → backend → gateway, once per execution environment.
// Connections to appliances and s3db are opened lazily by the backend's clients and reused by
// every later invocation in the same environment.
import { createDistributedBackend } from '../backend/distributed/index.ts';
import { FilesystemBackend } from '../backend/filesystem/index.ts';
import type { Backend } from '../backend/types.ts';
import { loadConfig, parseConfig } from '../../shared/config/index.ts';
import type { ClusterConfig } from '../../shared/config/index.ts';
import type { TlsIdentity } from '../../shared/tls/index.ts';
import { openGatewayOps } from '../admin/open.ts';
import type { OpenedGatewayOps } from '../admin/open.ts';
import { EmfRecorder } from '../../shared/metrics/index.ts';
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
  tls: TlsIdentity | undefined,
  opened: OpenedGatewayOps,
): Promise<Backend> {
  if (settings.backend === 'filesystem') return FilesystemBackend.open({ basePath: config.basePath });
  return createDistributedBackend(config, {
    ...(tls === undefined ? {} : { tls }),
    instrument: opened.instrument,
  });
}

export interface BootOptions {
  /** Where EMF metric lines go (default: stdout, which Lambda sends to CloudWatch Logs). */
  writeMetricLine?: (line: string) => void;
}

export async function bootLambdaGateway(
  settings: LambdaSettings,
  env: Record<string, string | undefined>,
  options: BootOptions = {},
): Promise<LambdaGateway> {
  const readParameter = parameterReader({
    endpoint: settings.parametersEndpoint,
    sessionToken: env['AWS_SESSION_TOKEN'],
  });
  const config = await readConfig(settings, readParameter);
  const tls =
    settings.backend === 'distributed' && settings.tlsParameterPrefix !== undefined
      ? await readTlsIdentity(settings.tlsParameterPrefix, readParameter)
      : undefined;
  // The same operator side as the host gateway (gateway/admin): admin API, status page, metrics;
  // the request metrics also go out as EMF lines unless PREDASTORE_METRICS=off.
  const function_ = env['AWS_LAMBDA_FUNCTION_NAME'];
  const recorder =
    settings.metrics === 'off'
      ? undefined
      : new EmfRecorder(function_ === undefined ? {} : { FunctionName: function_ });
  const opened = await openGatewayOps(config, settings.backend, {
    ...(tls === undefined ? {} : { tls }),
    ...(recorder === undefined ? {} : { metrics: { onRequest: (sample) => recorder.record(sample) } }),
  });
  let backend: Backend;
  try {
    backend = await openBackend(settings, config, tls, opened);
  } catch (error) {
    await opened.ops.close().catch(() => undefined);
    throw error;
  }
  const write = options.writeMetricLine ?? ((line: string) => void process.stdout.write(`${line}\n`));
  return createLambdaGateway({
    config,
    backend,
    logLevel: settings.logLevel,
    ...(settings.signedHost === undefined ? {} : { signedHost: settings.signedHost }),
    ops: opened.ops,
    ...(recorder === undefined ? {} : { emf: { recorder, write } }),
  });
}
