import { TlsTransport } from './tls-transport.ts';
import type { Transport, TransportKind } from './types.ts';

/** The transport for `[transport] kind` in the cluster config. */
export async function createTransport(kind: TransportKind): Promise<Transport> {
  switch (kind) {
    case 'tls':
      return new TlsTransport();
    case 'quic': {
      // Loaded on demand: the native QUIC module is only needed when a cluster is configured for it.
      const { QuicTransport } = await import('./quic-transport.ts');
      return new QuicTransport();
    }
    default:
      throw new Error(`unknown transport kind ${JSON.stringify(kind)}`);
  }
}
