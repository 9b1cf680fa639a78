import { networkInterfaces } from 'node:os';

/** Every IP address of this machine's network interfaces (loopback included). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) out.push(entry.address.toLowerCase());
  }
  return out;
}
