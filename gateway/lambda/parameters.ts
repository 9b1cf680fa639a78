// Reads SSM parameters through the AWS Parameters and Secrets Lambda Extension (a layer that
// serves them on localhost and caches them), so the bundle needs no AWS SDK.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

export interface ParameterReaderOptions {
  endpoint: string;
  /** The extension authenticates callers by the function's session token. */
  sessionToken: string | undefined;
  timeoutMs?: number;
}

export type ParameterReader = (name: string) => Promise<string>;

export function parameterReader(options: ParameterReaderOptions): ParameterReader {
  return async (name) => {
    if (options.sessionToken === undefined)
      throw new ParameterError(`cannot read SSM parameter ${name}: AWS_SESSION_TOKEN is not set`);
    const url = new URL('/systemsmanager/parameters/get', options.endpoint);
    url.searchParams.set('name', name);
    url.searchParams.set('withDecryption', 'true');
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { 'X-Aws-Parameters-Secrets-Token': options.sessionToken },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new ParameterError(
        `cannot reach the Parameters and Secrets extension at ${options.endpoint} for ${name}: ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    if (!response.ok)
      throw new ParameterError(`SSM parameter ${name}: HTTP ${response.status}: ${text.slice(0, 200)}`);
    let value: unknown;
    try {
      value = (JSON.parse(text) as { Parameter?: { Value?: unknown } }).Parameter?.Value;
    } catch {
      throw new ParameterError(`SSM parameter ${name}: the extension answered with invalid JSON`);
    }
    if (typeof value !== 'string') throw new ParameterError(`SSM parameter ${name} has no value`);
    return value;
  };
}
