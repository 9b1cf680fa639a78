// A minimal S3 client for the benchmark: keep-alive node:http, the project's SigV4 signer, nothing
// else. Beside the pinned AWS SDK (whose middleware costs the bench process several ms of CPU per
// request on the same 2 cores as the servers) it shows what the servers themselves can do. Like the
// SDK over plain HTTP, it signs the payload's SHA-256.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { signRequest } from '../../shared/sigv4/index.ts';

export interface LeanS3Client {
  put(bucket: string, key: string, body: Buffer): Promise<void>;
  get(bucket: string, key: string): Promise<Buffer>;
  close(): void;
}

export function leanS3Client(
  endpoint: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  maxSockets = 64,
): LeanS3Client {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const send = (method: string, path: string, body: Buffer): Promise<{ status: number; body: Buffer }> => {
    const signed = signRequest({
      method,
      path,
      headers: { host: url.host },
      payloadHash: createHash('sha256').update(body).digest('hex'),
      credentials,
      region,
      service: 's3',
    });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          agent,
          headers: { 'content-length': String(body.length), ...signed.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  const path = (bucket: string, key: string): string =>
    `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return {
    async put(bucket, key, body) {
      const a = await send('PUT', path(bucket, key), body);
      if (a.status !== 200) throw new Error(`PUT ${key}: ${a.status} ${a.body.toString().slice(0, 200)}`);
    },
    async get(bucket, key) {
      const a = await send('GET', path(bucket, key), Buffer.alloc(0));
      if (a.status !== 200) throw new Error(`GET ${key}: ${a.status} ${a.body.toString().slice(0, 200)}`);
      return a.body;
    },
    close: () => agent.destroy(),
  };
}
