// Readiness probes the supervisor runs before it says "ready": the gateway's readiness endpoint and
// an s3db leader. Every probe is bounded by a deadline.
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterConfig } from '../shared/config/index.ts';
import { S3dbClient } from '../shared/s3db-client/index.ts';
import { READY_PATH } from '../gateway/health.ts';

export class NotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotReadyError';
  }
}

function getStatus(url: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Our own server on loopback: its certificate (possibly self-signed) is not what is being probed.
    const request = (url.protocol === 'https:' ? https : http).get(
      url,
      { timeout: 5000, rejectUnauthorized: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** Polls `<baseUrl>/_predastore/ready` until it answers 200, or throws NotReadyError with the last answer. */
export async function waitForGatewayReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const url = new URL(READY_PATH, baseUrl);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  let delay = 50;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    try {
      const answer = await getStatus(url);
      if (answer.status === 200) return;
      last = `${answer.status} ${answer.body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() + delay > deadline) break;
    await sleep(delay);
    delay = Math.min(1000, delay * 2);
  }
  throw new NotReadyError(`the gateway at ${baseUrl} is not ready after ${timeoutMs} ms: ${last}`);
}

/** Waits until the s3db members of the config have elected a leader; returns its id. */
export async function waitForS3dbLeader(
  config: ClusterConfig,
  caPem: string,
  timeoutMs: number,
): Promise<number> {
  const first = config.db[0];
  if (first === undefined) throw new NotReadyError('the config has no s3db node');
  const client = new S3dbClient({
    nodes: config.db.map((d) => `${d.advertiseHost}:${d.port}`),
    credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
    region: config.region,
    caPem,
    attemptTimeoutMs: Math.min(5000, timeoutMs),
    retryForMs: timeoutMs,
  });
  try {
    return (await client.leader()).id;
  } catch (error) {
    throw new NotReadyError(`s3db has no leader after ${timeoutMs} ms: ${(error as Error).message}`);
  } finally {
    client.close();
  }
}
