export * from './certificates.ts';
export * from './cluster-certs.ts';
export { runCertsCommand, parseCertsArgs, UsageError } from './certs-command.ts';
export type { ParsedCertsArgs, CommandIo } from './certs-command.ts';
