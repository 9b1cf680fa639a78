import { TlsTransport } from './tls-transport.ts';
import type { Transport, TransportKind } from './types.ts';

/** The transport for `[transport] kind` in the cluster config. */
export async function createTransport(kind: TransportKind): Promise<Transport> {
  switch (kind) {
    case 'tls':
      return new TlsTransport();
    case 'quic':
      throw new Error('the QUIC transport is not available in this build yet; use [transport] kind = "tls"');
    default:
      throw new Error(`unknown transport kind ${JSON.stringify(kind)}`);
  }
}
