export * from './types.ts';
export { FramedStream } from './framed-stream.ts';
export { TlsTransport } from './tls-transport.ts';
export { createTransport } from './factory.ts';
