/**
 * The shape of a CLI command. Each command file exports its commands (made with
 * {@link defineCommand}) and `commands/index.ts` lists them. A command declares its flags and
 * positionals; the framework parses them (typed), handles `--help`, the global flags and errors.
 */
import type { ApiClient } from '../api/rpc-client.js';
import type { FlagSpec, ParsedFlags, PositionalSpec } from './args.js';
import type { Output } from './output.js';

/** Flags every command accepts. */
export const globalFlags = {
  repo: {
    type: 'string',
    valueName: 'PATH',
    description: 'repository directory (env SECTOR_STORAGE_PATH)',
    defaultText: '~/.sector-storage',
  },
  json: { type: 'boolean', description: 'print the result as JSON' },
} as const satisfies Record<string, FlagSpec>;

export type GlobalFlags = ParsedFlags<typeof globalFlags>;

/** What a running command gets. */
export interface CommandContext<F extends Record<string, FlagSpec>> {
  /** The command's own flags plus the global ones. */
  flags: ParsedFlags<F> & GlobalFlags;
  /** Positional arguments by declared name. */
  args: Record<string, string | undefined>;
  /** Values of a variadic positional. */
  rest: string[];
  /** The resolved repository directory (`--repo`, `SECTOR_STORAGE_PATH`, or `~/.sector-storage`). */
  repoPath: string;
  out: Output;
  /** Aborted on SIGINT/SIGTERM (a second SIGINT exits at once; a repeated SIGTERM changes nothing). */
  signal: AbortSignal;
  /** Connects to the daemon of `repoPath` (DaemonUnreachableError when it is not running). */
  connect(): Promise<ApiClient>;
}

/** A command: `path` is its words (`['pieces', 'add']`). */
export interface CliCommand<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  readonly path: readonly string[];
  readonly summary: string;
  /** Longer help text (paragraphs). */
  readonly description?: string;
  readonly flags: F;
  readonly positionals: readonly PositionalSpec[];
  /** Resolves to the exit code (default 0). */
  run(ctx: CommandContext<F>): Promise<number | undefined> | Promise<void>;
}

/** Declares a command with typed flags. */
export function defineCommand<F extends Record<string, FlagSpec>>(command: CliCommand<F>): CliCommand<F> {
  return command;
}

/** A command whose flag types have been erased, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds commands of every flag shape
export type AnyCommand = CliCommand<any>;
