export * from './client.ts';
export * from './errors.ts';
export { peerLabel, type ShardPeer } from './connection-pool.ts';
