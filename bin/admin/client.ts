// HTTP client of the gateway's admin API: every request signed with SigV4 (shared/sigv4, service s3).
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { presignRequest, signRequest } from '../../shared/sigv4/index.ts';

export interface AdminCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A non-2xx answer of the admin API (its JSON error), or no answer at all (`status` 0). */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export class AdminClient {
  private readonly url: URL;

  constructor(
    endpoint: string,
    private readonly credentials: AdminCredentials,
    private readonly region: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = new URL(endpoint);
  }

  get<T>(path: string, query = ''): Promise<T> {
    return this.call<T>('GET', path, query);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, '', body === undefined ? undefined : JSON.stringify(body));
  }

  /** A presigned GET URL of `path` (the status page in a browser). */
  presignedUrl(path: string, expiresIn: number): string {
    const query = presignRequest({
      method: 'GET',
      path,
      headers: { host: this.url.host },
      credentials: this.credentials,
      region: this.region,
      service: 's3',
      expiresIn,
    });
    return `${this.url.origin}${path}?${query}`;
  }

  private call<T>(method: string, path: string, query: string, body?: string): Promise<T> {
    const payload = Buffer.from(body ?? '', 'utf8');
    const headers: Record<string, string> = { host: this.url.host };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signed = signRequest({
      method,
      path,
      query,
      headers,
      payloadHash: createHash('sha256').update(payload).digest('hex'),
      credentials: this.credentials,
      region: this.region,
      service: 's3',
    });
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(
        {
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
          method,
          path: query === '' ? path : `${path}?${query}`,
          headers: { ...headers, ...signed.headers, 'content-length': String(payload.length) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new AdminApiError(0, 'ConnectionLost', e.message)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
            reject(
              new AdminApiError(
                status,
                error?.code ?? `HTTP${status}`,
                error?.message ?? (text.slice(0, 300) || `HTTP ${status}`),
              ),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(new AdminApiError(0, 'Unreachable', `${this.url.origin}: ${e.message}`)));
      req.end(payload);
    });
  }
}
