// Cluster PKI in memory: a self-signed ECDSA P-256 CA and the node certificates it issues.
// No file I/O here; see cluster-certs.ts for the on-disk layout.
import { createPrivateKey, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from './x509.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const subtle = webcrypto.subtle;
x509.cryptoProvider.set(webcrypto);

const EC_KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start being valid a little in the past, so a peer with a slow clock accepts them. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

/** The DNS suffix every node certificate carries: `<name>.predastore.internal`. */
export const CLUSTER_DNS_SUFFIX = 'predastore.internal';

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export type CertificateAuthority = PemPair;

export interface IssueOptions {
  /** Node name, e.g. `node-1`, `gateway`, `s3db-2`. Used as CN and as `<name>.predastore.internal`. */
  name: string;
  /** Extra DNS names besides `<name>.predastore.internal` and `localhost`. */
  dnsNames?: string[];
  /** Extra IP addresses besides 127.0.0.1 and ::1. */
  ipAddresses?: string[];
  validDays?: number;
}

export class CertificateError extends Error {
  readonly code = 'CERTIFICATE_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_PATTERN =
  /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Throws CertificateError unless `name` is a lowercase DNS label (it becomes a file name and a DNS name). */
export function assertValidNodeName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new CertificateError(
      `invalid certificate name ${JSON.stringify(name)}: use lowercase letters, digits and '-', 1-63 characters`,
    );
  }
}

function toPem(der: ArrayBuffer, tag: string): string {
  return x509.PemConverter.encode(der, tag) + '\n';
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new CertificateError(`validity must be 1..36500 days, got ${days}`);
  }
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  bytes[0] |= 0x01; // and no leading zero byte to strip
  return Buffer.from(bytes).toString('hex');
}

/** Quotes a value for an X.500 distinguished name string. */
function dnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

/** Creates a self-signed cluster CA (ECDSA P-256, SHA-256). */
export async function createCertificateAuthority(
  options: { commonName?: string; validDays?: number } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${dnValue(options.commonName ?? 'Predastore cluster CA')}, O=Predastore`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(options.validDays ?? 3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: toPem(cert.rawData, 'CERTIFICATE'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

async function importCa(ca: CertificateAuthority): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(ca.certPem);
  } catch (err) {
    throw new CertificateError(`CA certificate is not a valid PEM certificate: ${(err as Error).message}`);
  }
  try {
    const der = x509.PemConverter.decodeFirst(ca.keyPem);
    key = await subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, false, ['sign']);
  } catch (err) {
    throw new CertificateError(`CA key is not a PKCS#8 ECDSA P-256 key: ${(err as Error).message}`);
  }
  return { cert, key };
}

/** The SANs a node certificate gets: its cluster DNS name, localhost, loopback IPs, plus the extras asked for. */
export function subjectAltNames(options: IssueOptions): { dns: string[]; ips: string[] } {
  assertValidNodeName(options.name);
  const dns = [`${options.name}.${CLUSTER_DNS_SUFFIX}`, 'localhost', ...(options.dnsNames ?? [])];
  const ips = ['127.0.0.1', '::1', ...(options.ipAddresses ?? [])];
  for (const d of dns) {
    if (!DNS_PATTERN.test(d)) throw new CertificateError(`invalid DNS name ${JSON.stringify(d)}`);
  }
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new CertificateError(`invalid IP address ${JSON.stringify(ip)}`);
  }
  return { dns: [...new Set(dns.map((d) => d.toLowerCase()))], ips: [...new Set(ips)] };
}

/**
 * Issues a certificate for a cluster member, signed by `ca`. It is valid both as a TLS server and as a
 * TLS client certificate, since every member dials and accepts.
 */
export async function issueCertificate(ca: CertificateAuthority, options: IssueOptions): Promise<PemPair> {
  const sans = subjectAltNames(options);
  const issuer = await importCa(ca);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnValue(options.name)}, O=Predastore`,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(options.validDays ?? 825),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([
        ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
        ...sans.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { certPem: toPem(cert.rawData, 'CERTIFICATE'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  validFrom: Date;
  validTo: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

/** Describes a PEM certificate (uses Node's parser). */
export function describeCertificate(certPem: string): CertificateInfo {
  const cert = new NodeX509Certificate(certPem);
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11));
  }
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    dnsNames,
    ipAddresses,
  };
}

/** True when `certPem` was signed by the CA in `caPem`, is currently valid, and its key matches `keyPem` if given. */
export function certificateMatchesCa(
  certPem: string,
  caPem: string,
  keyPem?: string,
  now = new Date(),
): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    const ca = new NodeX509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) <= now) return false;
    if (keyPem !== undefined) {
      return cert.checkPrivateKey(createPrivateKey(keyPem));
    }
    return true;
  } catch {
    return false;
  }
}
