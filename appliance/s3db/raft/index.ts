// Public entry point of the pure Raft core.
export * from './types.ts';
export * from './errors.ts';
export { RaftNode } from './node.ts';
export { encodeConfChange, decodeConfChange } from './membership.ts';
export { encodeMessage, decodeMessage, messageToJson, messageFromJson } from './codec.ts';
