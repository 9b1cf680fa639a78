// Go-style command-line flags (the `flag` package's rules): `-name value`, `-name=value`,
// `--name` the same; boolean flags take no separate value (`-db`, `-db=false`); a value flag
// takes the next argument even when it starts with a dash (`-node -1`); parsing stops at the
// first argument that is not a flag, or after `--`.

export type FlagKind = 'string' | 'int' | 'bool';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** Environment variable that supplies the value when the flag is absent. */
  readonly env?: string;
  /** Values of the environment variable that mean "not set" (e.g. someone else's use of the name). */
  readonly envIgnored?: (value: string) => boolean;
  /** Placeholder for the value in the usage text. */
  readonly valueName?: string;
  readonly usage: string;
}

export type FlagValue = string | number | boolean;

/** A command line that cannot be understood; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  /** Values given on the command line, by flag name. */
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** Arguments after the flags. */
  readonly positionals: readonly string[];
  /** `-h` / `-help` was given. */
  readonly help: boolean;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags = new Map<string, FlagValue>();
  let help = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === '' || name.startsWith('-') || name.startsWith('='))
      throw new UsageError(`bad flag syntax: ${arg}`);
    const spec = byName.get(name);
    if (spec === undefined) {
      if (name === 'h' || name === 'help') {
        help = true;
        continue;
      }
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
    if (spec.kind === 'bool') {
      flags.set(name, inline === undefined ? true : parseBool(inline, `flag -${name}`));
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      raw = argv[i + 1];
      if (raw === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      i++;
    }
    flags.set(name, parseValue(spec, raw, `flag -${name}`));
  }
  return { flags, positionals: argv.slice(i), help };
}

/**
 * The value of each flag: from the command line, else from its environment variable
 * (an empty variable counts as unset), else absent. Flag beats environment beats default.
 */
export function resolveFlags(
  parsed: ParsedArgs,
  specs: readonly FlagSpec[],
  env: Readonly<Record<string, string | undefined>>,
): { values: Map<string, FlagValue>; sources: Map<string, string> } {
  const values = new Map<string, FlagValue>();
  const sources = new Map<string, string>();
  for (const spec of specs) {
    const fromFlag = parsed.flags.get(spec.name);
    if (fromFlag !== undefined) {
      values.set(spec.name, fromFlag);
      sources.set(spec.name, `-${spec.name}`);
      continue;
    }
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (
      spec.env !== undefined &&
      fromEnv !== undefined &&
      fromEnv !== '' &&
      spec.envIgnored?.(fromEnv) !== true
    ) {
      const where = `environment variable ${spec.env}`;
      values.set(
        spec.name,
        spec.kind === 'bool' ? parseBool(fromEnv, where) : parseValue(spec, fromEnv, where),
      );
      sources.set(spec.name, spec.env);
    }
  }
  return { values, sources };
}

function parseValue(spec: FlagSpec, raw: string, where: string): FlagValue {
  if (spec.kind === 'string') return raw;
  if (spec.kind === 'bool') return parseBool(raw, where);
  if (!/^[+-]?\d+$/.test(raw.trim()))
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for ${where}: must be an integer`);
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value))
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for ${where}: out of range`);
  return value;
}

// Go's strconv.ParseBool spellings.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function parseBool(raw: string, where: string): boolean {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new UsageError(`invalid value ${JSON.stringify(raw)} for ${where}: must be true or false`);
}

/** Go-style flag list for the usage text. */
export function formatFlagUsage(specs: readonly FlagSpec[]): string {
  const lines: string[] = [];
  for (const spec of specs) {
    const head = spec.kind === 'bool' ? `-${spec.name}` : `-${spec.name} ${spec.valueName ?? spec.kind}`;
    lines.push(`  ${head}`);
    lines.push(`    \t${spec.usage}${spec.env === undefined ? '' : ` (env ${spec.env})`}`);
  }
  return lines.join('\n');
}
