import { isIP } from 'node:net';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

/** True for an address that means "every interface" (bind-only, never something to connect to). */
export function isWildcardHost(host: string): boolean {
  return WILDCARD_HOSTS.has(host);
}

/** True for a loopback name or address: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** A host that can only mean this machine: loopback or wildcard. */
export function isLocalOnlyHost(host: string): boolean {
  return isLoopbackHost(host) || isWildcardHost(host);
}

/**
 * The address other nodes should use to reach a listener bound to `host`
 * (spec §15: a wildcard bind with no advertise_host advertises loopback).
 */
export function defaultAdvertiseHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** One spelling per address, for comparing listeners: localhost and 127.0.0.1 are the same place. */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'localhost' ? '127.0.0.1' : h;
}

const HOSTNAME_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** What is wrong with a host name or IP address, or null when it is usable. */
export function hostProblem(host: string): string | null {
  if (host === '') return 'must not be empty';
  if (isIP(host) !== 0) return null;
  if (host.length > 253 || !host.split('.').every((label) => HOSTNAME_LABEL.test(label)))
    return `"${host}" is neither an IP address nor a valid host name`;
  return null;
}
