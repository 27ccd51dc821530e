/**
 * A small typed command-line parser: commands are paths of words (`pieces add`), each with
 * declared flags and positional arguments. Accepts `--flag value`, `--flag=value`, boolean
 * flags (`--json`, `--json=false`), repeated flags (collected into arrays), `--` to end flags,
 * and `-h`/`--help` anywhere. Unknown flags, missing values and wrong positional counts are
 * {@link UsageError}s that name the offending argument.
 */
import { InvalidArgumentError } from '../errors.js';

/** A declared flag. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Collect every occurrence into an array (string flags only). */
  readonly repeated?: boolean;
  /** Placeholder shown in help, e.g. `SIZE`. */
  readonly valueName?: string;
  /** Shown in help; the parser does not apply it (commands own their defaults). */
  readonly defaultText?: string;
  /** Missing is a usage mistake (string flags only). */
  readonly required?: boolean;
}

/** A declared positional argument. */
export interface PositionalSpec {
  readonly name: string;
  readonly description?: string;
  /** @default true */
  readonly required?: boolean;
  /** Takes every remaining argument (last positional only). */
  readonly variadic?: boolean;
}

/** The parsed value of one flag, by its spec. */
export type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? boolean
  : S extends { readonly repeated: true }
    ? string[]
    : S extends { readonly required: true }
      ? string
      : string | undefined;

/** Parsed flags of a command, typed from its flag specs. */
export type ParsedFlags<F extends Record<string, FlagSpec>> = { -readonly [K in keyof F]: FlagValue<F[K]> };

/** A usage mistake (unknown flag, missing argument…); the CLI prints the command's usage after it. */
export class UsageError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Result of {@link parseArgs}. */
export interface ParsedArgs<F extends Record<string, FlagSpec>> {
  flags: ParsedFlags<F>;
  /** Positional values by name; a variadic positional collects into `rest`. */
  positionals: Record<string, string | undefined>;
  rest: string[];
  help: boolean;
}

/**
 * Parses `argv` (the words after the command path) against the declared flags and positionals.
 * @example parseArgs(['--sector', '3', 'file.car'], { sector: { type: 'string', description: '' } }, [{ name: 'FILE' }])
 */
export function parseArgs<F extends Record<string, FlagSpec>>(
  argv: readonly string[],
  flagSpecs: F,
  positionalSpecs: readonly PositionalSpec[] = [],
): ParsedArgs<F> {
  const flags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(flagSpecs)) {
    flags[name] = spec.type === 'boolean' ? false : spec.repeated ? [] : undefined;
  }
  const words: string[] = [];
  let help = false;
  let endOfFlags = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // `-1` is a (negative) value, not a flag: its positional's own check names it
    if (endOfFlags || !arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      words.push(arg);
      continue;
    }
    if (arg === '--') {
      endOfFlags = true;
      continue;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown flag "${arg}" (flags are written --name)`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const spec = Object.hasOwn(flagSpecs, name) ? flagSpecs[name] : undefined;
    if (!spec) throw new UsageError(`unknown flag "--${name}"`);
    if (spec.type === 'boolean') {
      if (inline === undefined) flags[name] = true;
      else if (inline === 'true' || inline === 'false') flags[name] = inline === 'true';
      else throw new UsageError(`flag --${name} is a switch; it takes no value (got "${inline}")`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`flag --${name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
      }
      value = next;
      i++;
    }
    if (spec.repeated) (flags[name] as string[]).push(value);
    else if (flags[name] !== undefined) throw new UsageError(`flag --${name} was given more than once`);
    else flags[name] = value;
  }
  if (!help) {
    for (const [name, spec] of Object.entries(flagSpecs)) {
      if (spec.required && flags[name] === undefined) {
        throw new UsageError(`missing required flag --${name}${spec.valueName ? ` ${spec.valueName}` : ''}`);
      }
    }
  }
  const positionals: Record<string, string | undefined> = {};
  let rest: string[] = [];
  let w = 0;
  for (const p of positionalSpecs) {
    if (p.variadic) {
      rest = words.slice(w);
      w = words.length;
      if (rest.length === 0 && p.required !== false && !help) throw new UsageError(`missing argument ${p.name}`);
      break;
    }
    const value = words[w];
    if (value === undefined) {
      if (p.required !== false && !help) throw new UsageError(`missing argument ${p.name}`);
    } else {
      w++;
    }
    positionals[p.name] = value;
  }
  if (w < words.length && !help) throw new UsageError(`unexpected argument "${words[w]}"`);
  return { flags: flags as ParsedFlags<F>, positionals, rest, help };
}

/** Parses a non-negative integer argument, naming it in the error (a usage mistake: exit 2). */
export function parseIntArg(text: string | undefined, name: string, options: { min?: number } = {}): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new UsageError(`${name} must be a non-negative integer (got ${JSON.stringify(text ?? '')})`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} ${text} is too large`);
  if (options.min !== undefined && n < options.min) throw new UsageError(`${name} must be at least ${options.min} (got ${n})`);
  return n;
}

/** One line per flag for help output. */
export function formatFlagHelp(flagSpecs: Record<string, FlagSpec>): string[] {
  const rows = Object.entries(flagSpecs).map(([name, spec]) => {
    const left = `--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    const extra = [spec.required ? 'required' : '', spec.repeated ? 'repeatable' : '', spec.defaultText ? `default: ${spec.defaultText}` : '']
      .filter(Boolean)
      .join('; ');
    return [left, `${spec.description}${extra ? ` (${extra})` : ''}`] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
}
