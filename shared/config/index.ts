export { ConfigError } from './errors.ts';
export { parseConfig } from './parse.ts';
export type { ParseOptions } from './parse.ts';
export { loadConfig } from './load.ts';
export { DEFAULTS } from './normalize.ts';
export { bucketNameProblem } from './bucket-name.ts';
export { isDevMode, dbNode, shardNode, isLocalOnlyHost, isLoopbackHost, isWildcardHost } from './helpers.ts';
export type * from './types.ts';
