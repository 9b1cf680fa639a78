/**
 * A configuration that cannot be used. `problems` holds one line per problem, each
 * `"<file>: <key.path>: <what is wrong>"`, so a user can fix them all in one pass.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems):\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Collects problems while walking a config, in the `"<file>: <key.path>: <message>"` format. */
export class ProblemList {
  readonly #file: string;
  readonly #problems: string[] = [];

  constructor(file: string) {
    this.#file = file;
  }

  add(keyPath: string, message: string): void {
    this.#problems.push(`${this.#file}: ${keyPath}: ${message}`);
  }

  get problems(): readonly string[] {
    return this.#problems;
  }

  throwIfAny(): void {
    if (this.#problems.length > 0) throw new ConfigError([...this.#problems]);
  }
}

/** `nodes[2].port` from `['nodes', 2, 'port']`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}
