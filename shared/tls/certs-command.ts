// `s3d certs …`: create the cluster CA and issue node certificates.
import { CertificateError, describeCertificate } from './certificates.ts';
import {
  initCertificateAuthority,
  issueNodeCertificate,
  certPath,
  keyPath,
  CA_CERT_FILE,
} from './cluster-certs.ts';
import { join } from 'node:path';

const USAGE = `Usage:
  s3d certs init  -dir DIR [-cn NAME] [-days N] [-force]
      Create the cluster CA (DIR/ca.crt, DIR/ca.key; the key is written 0600).
  s3d certs issue -dir DIR -name NAME [-ip IP]... [-dns NAME]... [-days N]
      Issue DIR/NAME.crt and DIR/NAME.key from the CA in DIR. The certificate is valid for
      NAME.predastore.internal, localhost, 127.0.0.1 and ::1, plus every -ip and -dns given
      (repeat the flag or separate values with commas). It serves as TLS server and client certificate.
  s3d certs show  -dir DIR -name NAME
      Print subject, issuer, validity and names of DIR/NAME.crt (NAME "ca" for the CA).

Options:
  -h, -help   show this help
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedCertsArgs {
  command: 'init' | 'issue' | 'show' | 'help';
  dir?: string;
  name?: string;
  ips: string[];
  dns: string[];
  days?: number;
  cn?: string;
  force: boolean;
}

const VALUE_FLAGS = new Set(['dir', 'name', 'ip', 'dns', 'days', 'cn']);
const BOOL_FLAGS = new Set(['force', 'h', 'help']);

/** Parses `certs` sub-arguments in Go flag style (`-flag value`, `-flag=value`, `--flag` also accepted). */
export function parseCertsArgs(argv: string[]): ParsedCertsArgs {
  const out: ParsedCertsArgs = { command: 'help', ips: [], dns: [], force: false };
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      if (command !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      command = arg;
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const flag = eq >= 0 ? body.slice(0, eq) : body;
    if (BOOL_FLAGS.has(flag)) {
      if (flag === 'force') out.force = eq < 0 || body.slice(eq + 1) !== 'false';
      else return { ...out, command: 'help' };
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new UsageError(`unknown flag -${flag}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag -${flag} needs a value`);
      value = next;
      i++;
    }
    switch (flag) {
      case 'dir':
        out.dir = value;
        break;
      case 'name':
        out.name = value;
        break;
      case 'cn':
        out.cn = value;
        break;
      case 'ip':
        out.ips.push(...splitList(value));
        break;
      case 'dns':
        out.dns.push(...splitList(value));
        break;
      case 'days': {
        const days = Number(value);
        if (!Number.isInteger(days) || days < 1) throw new UsageError(`-days must be a positive integer`);
        out.days = days;
        break;
      }
    }
  }
  if (command === undefined || command === 'help') return { ...out, command: 'help' };
  if (command !== 'init' && command !== 'issue' && command !== 'show') {
    throw new UsageError(`unknown certs command ${JSON.stringify(command)}`);
  }
  out.command = command;
  if (out.dir === undefined || out.dir === '') throw new UsageError(`-dir is required`);
  if (command !== 'init' && (out.name === undefined || out.name === ''))
    throw new UsageError(`-name is required`);
  return out;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Runs `s3d certs <argv>`; returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runCertsCommand(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  let args: ParsedCertsArgs;
  try {
    args = parseCertsArgs(argv);
  } catch (err) {
    io.err(`s3d certs: ${(err as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  if (args.command === 'help') {
    io.out(USAGE);
    return 0;
  }
  const dir = args.dir as string;
  try {
    switch (args.command) {
      case 'init': {
        await initCertificateAuthority(dir, { force: args.force, commonName: args.cn, validDays: args.days });
        io.out(`created cluster CA: ${join(dir, CA_CERT_FILE)} (key ${join(dir, 'ca.key')}, mode 0600)`);
        return 0;
      }
      case 'issue': {
        const name = args.name as string;
        const pair = await issueNodeCertificate(dir, {
          name,
          ipAddresses: args.ips,
          dnsNames: args.dns,
          validDays: args.days,
        });
        const info = describeCertificate(pair.certPem);
        io.out(`issued ${certPath(dir, name)} (key ${keyPath(dir, name)}, mode 0600)`);
        io.out(`  names: ${[...info.dnsNames, ...info.ipAddresses].join(', ')}`);
        io.out(`  valid until ${info.validTo.toISOString()}`);
        return 0;
      }
      case 'show': {
        const name = args.name as string;
        const { readFile } = await import('node:fs/promises');
        const file = name === 'ca' ? join(dir, CA_CERT_FILE) : certPath(dir, name);
        const info = describeCertificate(await readFile(file, 'utf8'));
        io.out(`file:     ${file}`);
        io.out(`subject:  ${info.subject.replace(/\n/g, ', ')}`);
        io.out(`issuer:   ${info.issuer.replace(/\n/g, ', ')}`);
        io.out(`serial:   ${info.serialNumber}`);
        io.out(`valid:    ${info.validFrom.toISOString()} .. ${info.validTo.toISOString()}`);
        io.out(`names:    ${[...info.dnsNames, ...info.ipAddresses].join(', ') || '(none)'}`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof CertificateError) {
      io.err(`s3d certs: ${err.message}`);
      return 1;
    }
    io.err(`s3d certs: ${(err as Error).message}`);
    return 1;
  }
}
