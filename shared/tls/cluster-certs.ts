// On-disk cluster certificates: <dir>/ca.crt, <dir>/ca.key, <dir>/<name>.crt, <dir>/<name>.key.
// Private keys are written 0600; writes go to a temp file, are fsynced, then renamed into place.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertValidNodeName,
  certificateMatchesCa,
  createCertificateAuthority,
  describeCertificate,
  subjectAltNames,
  issueCertificate,
  CertificateError,
  type CertificateAuthority,
  type IssueOptions,
  type PemPair,
} from './certificates.ts';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

export interface ClusterCertificates {
  /** PEM of the cluster CA certificate (what peers are verified against). */
  caPem: string;
  /** Certificate and key of each requested name. */
  nodes: Record<string, PemPair>;
}

/** What one member needs to speak mutual TLS: its certificate, its key, and the CA that peers must chain to. */
export interface TlsIdentity {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function certPath(dir: string, name: string): string {
  assertValidNodeName(name);
  return join(dir, `${name}.crt`);
}

export function keyPath(dir: string, name: string): string {
  assertValidNodeName(name);
  return join(dir, `${name}.key`);
}

async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed it; make it exactly `mode`
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function writePair(dir: string, base: string, pair: PemPair): Promise<void> {
  // Key first: a certificate on disk always has its key beside it.
  await writeFileAtomic(join(dir, `${base}.key`), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, `${base}.crt`), pair.certPem, 0o644);
}

/** Reads the CA from `dir`; throws CertificateError if it is missing. */
export async function loadCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  const certPem = await readIfExists(join(dir, CA_CERT_FILE));
  const keyPem = await readIfExists(join(dir, CA_KEY_FILE));
  if (certPem === undefined || keyPem === undefined) {
    throw new CertificateError(`no cluster CA in ${dir} (run: s3d certs init -dir ${dir})`);
  }
  return { certPem, keyPem };
}

/** Creates the CA in `dir`. Refuses to replace an existing CA unless `force`. */
export async function initCertificateAuthority(
  dir: string,
  options: { force?: boolean; commonName?: string; validDays?: number } = {},
): Promise<CertificateAuthority> {
  await prepareDir(dir);
  if (!options.force && (await readIfExists(join(dir, CA_CERT_FILE))) !== undefined) {
    throw new CertificateError(`a cluster CA already exists in ${dir} (use -force to replace it)`);
  }
  const ca = await createCertificateAuthority(options);
  await writePair(dir, 'ca', ca);
  return ca;
}

/** Issues (or re-issues) the certificate `options.name` from the CA in `dir` and writes it there. */
export async function issueNodeCertificate(dir: string, options: IssueOptions): Promise<PemPair> {
  assertValidNodeName(options.name);
  if (options.name === 'ca') throw new CertificateError(`the name "ca" is reserved for the cluster CA`);
  const ca = await loadCertificateAuthority(dir);
  const pair = await issueCertificate(ca, options);
  await writePair(dir, options.name, pair);
  return pair;
}

/** Loads the identity `name` from `dir` (its cert and key plus the CA certificate). */
export async function loadTlsIdentity(dir: string, name: string): Promise<TlsIdentity> {
  const caPem = await readIfExists(join(dir, CA_CERT_FILE));
  const certPem = await readIfExists(certPath(dir, name));
  const keyPem = await readIfExists(keyPath(dir, name));
  if (caPem === undefined) throw new CertificateError(`no cluster CA certificate in ${dir}`);
  if (certPem === undefined || keyPem === undefined) {
    throw new CertificateError(
      `no certificate for ${name} in ${dir} (run: s3d certs issue -dir ${dir} -name ${name})`,
    );
  }
  return { caPem, certPem, keyPem };
}

/** True when the certificate already carries every SAN that `request` asks for. */
function coversNames(certPem: string, request: IssueOptions): boolean {
  const wanted = subjectAltNames(request);
  const info = describeCertificate(certPem);
  const dns = new Set(info.dnsNames.map((d) => d.toLowerCase()));
  const ips = new Set(info.ipAddresses.map(normaliseIp));
  return wanted.dns.every((d) => dns.has(d)) && wanted.ips.every((ip) => ips.has(normaliseIp(ip)));
}

function normaliseIp(ip: string): string {
  // Node prints IPv6 SANs in full form (0:0:0:0:0:0:0:1); compare without leading zeros or compression.
  if (!ip.includes(':')) return ip;
  return new URL(`http://[${ip}]/`).hostname;
}

const LOCK_FILE = '.certs.lock';
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/** Serialises certificate creation between processes sharing `dir` (dev mode may start several at once). */
async function withDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const info = await stat(lockPath).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new CertificateError(`timed out waiting for ${lockPath}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

/**
 * Dev mode: makes sure `dir` holds a cluster CA and a valid certificate for every name, creating only what is
 * missing, expired, or not signed by the current CA. Idempotent and safe to call from several processes.
 */
export async function ensureClusterCertificates(
  dir: string,
  names: Array<string | IssueOptions>,
): Promise<ClusterCertificates> {
  const requests: IssueOptions[] = names.map((n) => (typeof n === 'string' ? { name: n } : n));
  for (const r of requests) {
    assertValidNodeName(r.name);
    if (r.name === 'ca') throw new CertificateError(`the name "ca" is reserved for the cluster CA`);
  }
  await prepareDir(dir);
  return withDirLock(dir, async () => {
    let ca: CertificateAuthority;
    const caCert = await readIfExists(join(dir, CA_CERT_FILE));
    const caKey = await readIfExists(join(dir, CA_KEY_FILE));
    if (caCert !== undefined && caKey !== undefined && certificateMatchesCa(caCert, caCert, caKey)) {
      ca = { certPem: caCert, keyPem: caKey };
    } else {
      ca = await createCertificateAuthority();
      await writePair(dir, 'ca', ca);
    }
    await chmod(join(dir, CA_KEY_FILE), 0o600);
    const nodes: Record<string, PemPair> = {};
    for (const request of requests) {
      const certPem = await readIfExists(certPath(dir, request.name));
      const keyPem = await readIfExists(keyPath(dir, request.name));
      if (
        certPem !== undefined &&
        keyPem !== undefined &&
        certificateMatchesCa(certPem, ca.certPem, keyPem) &&
        coversNames(certPem, request)
      ) {
        nodes[request.name] = { certPem, keyPem };
      } else {
        const pair = await issueCertificate(ca, request);
        await writePair(dir, request.name, pair);
        nodes[request.name] = pair;
      }
    }
    return { caPem: ca.certPem, nodes };
  });
}
