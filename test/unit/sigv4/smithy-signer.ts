// Test helper: the AWS SDK's own SigV4 signer (@smithy/signature-v4), with a node:crypto hash.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type Data = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

class NodeSha256 {
  private readonly secret: Buffer | undefined;
  private hash: Hash | Hmac;
  constructor(secret?: Data) {
    this.secret = secret === undefined ? undefined : toBuffer(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
  update(data: Data): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

export function sdkSigner(
  service = 's3',
  region = 'us-east-1',
  uriEscapePath = service !== 's3',
): SignatureV4 {
  return new SignatureV4({
    credentials: TEST_CREDENTIALS,
    region,
    service,
    sha256: NodeSha256,
    uriEscapePath,
  });
}

export interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body?: unknown;
}

/** S3-style path encoding of a key, as the SDK serialiser does (RFC 3986 plus !'()*), keeping '/'. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
      ),
    )
    .join('/');
}

export function encodeQuery(query: Record<string, string | string[]>): string {
  const enc = (s: string): string =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    for (const v of typeof value === 'string' ? [value] : value) parts.push(`${enc(name)}=${enc(v)}`);
  }
  return parts.join('&');
}
