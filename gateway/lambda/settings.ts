// The Lambda gateway's settings come from environment variables only (set by the SST app, or by
// hand). Secrets never live in the bundle or in plain variables: the cluster config (which holds
// the [[auth]] keys) and the gateway's TLS identity can be read from SSM parameters at cold start.
export type LambdaBackendKind = 'distributed' | 'filesystem';

export type ConfigSource =
  { kind: 'file'; path: string } | { kind: 'inline'; toml: string } | { kind: 'parameter'; name: string };

export interface LambdaSettings {
  config: ConfigSource;
  backend: LambdaBackendKind;
  /** SSM parameter prefix holding `ca.crt`, `gateway.crt`, `gateway.key`; default: the config's [tls] dir. */
  tlsParameterPrefix?: string;
  /** The Host clients sign against when a proxy in front (CloudFront, custom domain) rewrites it. */
  signedHost?: string;
  /** Base URL of the AWS Parameters and Secrets Lambda Extension. */
  parametersEndpoint: string;
  logLevel: string;
  /** `off`: no EMF metric lines (PREDASTORE_METRICS=off); absent: EMF lines after every invocation. */
  metrics?: 'off';
}

export class LambdaSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LambdaSettingsError';
  }
}

export const ENV = {
  configFile: 'PREDASTORE_CONFIG',
  configToml: 'PREDASTORE_CONFIG_TOML',
  configParameter: 'PREDASTORE_CONFIG_PARAMETER',
  tlsParameterPrefix: 'PREDASTORE_TLS_PARAMETER_PREFIX',
  backend: 'PREDASTORE_BACKEND',
  signedHost: 'PREDASTORE_SIGNED_HOST',
  parametersEndpoint: 'PREDASTORE_PARAMETERS_ENDPOINT',
  logLevel: 'PREDASTORE_LOG_LEVEL',
  metrics: 'PREDASTORE_METRICS',
} as const;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function nonEmpty(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Reads the settings; throws LambdaSettingsError naming the variable that is wrong. */
export function settingsFromEnv(env: Record<string, string | undefined>): LambdaSettings {
  const sources: ConfigSource[] = [];
  const file = nonEmpty(env, ENV.configFile);
  const toml = env[ENV.configToml];
  const parameter = nonEmpty(env, ENV.configParameter);
  if (file !== undefined) sources.push({ kind: 'file', path: file });
  if (toml !== undefined && toml.trim() !== '') sources.push({ kind: 'inline', toml });
  if (parameter !== undefined) sources.push({ kind: 'parameter', name: parameter });
  const names = `${ENV.configFile}, ${ENV.configToml} or ${ENV.configParameter}`;
  if (sources.length === 0) throw new LambdaSettingsError(`no cluster config: set one of ${names}`);
  if (sources.length > 1) throw new LambdaSettingsError(`set only one of ${names}`);

  const backend = nonEmpty(env, ENV.backend) ?? 'distributed';
  if (backend !== 'distributed' && backend !== 'filesystem')
    throw new LambdaSettingsError(`${ENV.backend} must be "distributed" or "filesystem", not "${backend}"`);

  const logLevel = nonEmpty(env, ENV.logLevel) ?? 'warn';
  if (!LOG_LEVELS.has(logLevel))
    throw new LambdaSettingsError(`${ENV.logLevel} must be one of ${[...LOG_LEVELS].join(', ')}`);

  const signedHost = nonEmpty(env, ENV.signedHost);
  if (signedHost !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(signedHost))
    throw new LambdaSettingsError(`${ENV.signedHost} must be a host name (optionally with :port)`);

  const parametersEndpoint =
    nonEmpty(env, ENV.parametersEndpoint) ??
    `http://localhost:${nonEmpty(env, 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT') ?? '2773'}`;
  const tlsParameterPrefix = nonEmpty(env, ENV.tlsParameterPrefix);
  const metrics = nonEmpty(env, ENV.metrics) ?? 'emf';
  if (metrics !== 'emf' && metrics !== 'off')
    throw new LambdaSettingsError(`${ENV.metrics} must be "emf" or "off", not "${metrics}"`);
  return {
    ...(metrics === 'off' ? { metrics: 'off' as const } : {}),
    config: sources[0] as ConfigSource,
    backend,
    logLevel,
    parametersEndpoint,
    ...(signedHost === undefined ? {} : { signedHost: signedHost.toLowerCase() }),
    ...(tlsParameterPrefix === undefined
      ? {}
      : { tlsParameterPrefix: tlsParameterPrefix.replace(/\/+$/, '') }),
  };
}
