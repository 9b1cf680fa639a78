import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.ts';
import { parseConfig } from './parse.ts';
import type { ParseOptions } from './parse.ts';
import type { ClusterConfig } from './types.ts';

/** Reads and parses a cluster TOML file. Every failure, a missing file included, is a `ConfigError`. */
export async function loadConfig(path: string, options: ParseOptions = {}): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : (error as Error).message;
    throw new ConfigError([`${path}: cannot read the config file: ${why}`]);
  }
  return parseConfig(text, path, options);
}
