#!/usr/bin/env node
/**
 * The `sector-storage` executable: finds the command named by the leading words, parses its
 * flags, runs it, and turns every failure into `Error: … [CODE]` on stderr (with `--json`, one JSON
 * document on stdout) with a non-zero exit (1 for errors, 2 for usage mistakes). SIGINT/SIGTERM
 * abort the command's signal; a second SIGINT exits at once.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SectorStorageError, toWireError } from '../errors.js';
import { resolveRepoPath } from '../repo/repo-path.js';
import { formatFlagHelp, parseArgs, UsageError } from './args.js';
import { type AnyCommand, type GlobalFlags, globalFlags } from './command.js';
import { commands } from './commands/index.js';
import { connectToDaemon } from './connect.js';
import { Output } from './output.js';
import { programVersion } from '../version.js';

const PROGRAM = 'sector-storage';

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], registry: readonly AnyCommand[] = commands): Promise<number> {
  const { path, rest } = splitCommandPath(argv, registry);
  const json = argv.includes('--json');
  const out = new Output({ json });
  const command = registry.find((c) => samePath(c.path, path));
  if (!command) {
    if (path.length === 0 && (rest[0] === '--version' || rest[0] === '-v')) {
      out.result({ version: programVersion() }, (v) => `${PROGRAM} ${v.version}`);
      return 0;
    }
    const word = rest.find((w) => !w.startsWith('-'));
    const wantsHelp = rest.includes('--help') || rest.includes('-h') || argv.length === 0 || (path.length > 0 && word === undefined);
    if (word === 'help' || (word === undefined && wantsHelp)) {
      out.stdout.write(groupHelp(registry, path));
      return 0;
    }
    out.error({ code: 'INVALID_ARGUMENT', message: word ? `unknown command "${[...path, word].join(' ')}"` : 'no command given' });
    if (!json) out.stderr.write(`\n${groupHelp(registry, path)}`);
    return 2;
  }
  const flagSpecs = { ...command.flags, ...globalFlags };
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // a second Ctrl-C is the user insisting; SIGTERM often comes twice at once (a supervisor
    // signals the whole process group and npm forwards it too), so it never cuts the shutdown short
    if (sig === 'SIGINT' && ++interrupts > 1) process.exit(130);
    if (!controller.signal.aborted) controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const parsed = parseArgs(rest, flagSpecs, command.positionals);
    if (parsed.help) {
      out.stdout.write(commandHelp(command));
      return 0;
    }
    const flags = parsed.flags as typeof parsed.flags & GlobalFlags;
    const repoPath = resolveRepoPath(flags.repo);
    const code = await command.run({
      flags,
      args: parsed.positionals,
      rest: parsed.rest,
      repoPath,
      out,
      signal: controller.signal,
      connect: () => connectToDaemon(repoPath),
    });
    return code ?? 0;
  } catch (err) {
    out.error(toWireError(err));
    if (err instanceof UsageError) {
      if (!json) out.stderr.write(`\n${commandHelp(command)}`);
      return 2;
    }
    if (!(err instanceof SectorStorageError) && process.env.SECTOR_STORAGE_DEBUG) {
      out.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Splits argv into the longest command path that prefixes some command, and the remaining words. */
export function splitCommandPath(
  argv: readonly string[],
  registry: readonly AnyCommand[],
): { path: string[]; rest: string[] } {
  const path: string[] = [];
  const rest: string[] = [];
  let matching = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (matching && !arg.startsWith('-')) {
      const candidate = [...path, arg];
      if (registry.some((c) => startsWith(c.path, candidate))) {
        path.push(arg);
        continue;
      }
      matching = false;
    }
    // a global value flag before the command words: keep it and its value together
    if (matching && arg === '--repo' && i + 1 < argv.length) {
      rest.push(arg, argv[++i]!);
      continue;
    }
    if (matching && arg === '--') matching = false;
    rest.push(arg);
  }
  return { path, rest };
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((w, i) => path[i] === w);
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && startsWith(a, b);
}

/** Usage and flags of one command. */
export function commandHelp(command: AnyCommand): string {
  const pos = command.positionals
    .map((p) => {
      const name = p.variadic ? `${p.name}...` : p.name;
      return p.required === false ? `[${name}]` : name;
    })
    .join(' ');
  const lines = [
    `Usage: ${PROGRAM} ${command.path.join(' ')}${Object.keys(command.flags).length ? ' [flags]' : ''}${pos ? ` ${pos}` : ''}`,
    '',
    command.summary,
  ];
  if (command.description) lines.push('', command.description);
  const described = command.positionals.filter((p) => p.description);
  if (described.length) {
    lines.push('', 'Arguments:');
    const width = Math.max(...described.map((p) => p.name.length));
    for (const p of described) lines.push(`  ${p.name.padEnd(width)}  ${p.description}`);
  }
  if (Object.keys(command.flags).length) lines.push('', 'Flags:', ...formatFlagHelp(command.flags));
  const helpFlag = { help: { type: 'boolean', description: 'show this help' } } as const;
  lines.push('', 'Global flags:', ...formatFlagHelp({ ...globalFlags, ...helpFlag }));
  return `${lines.join('\n')}\n`;
}

/** The list of commands under `prefix` (all commands for the empty prefix). */
export function groupHelp(registry: readonly AnyCommand[], prefix: readonly string[]): string {
  const list = registry.filter((c) => startsWith(c.path, prefix));
  const rows = list.map((c) => [c.path.join(' '), c.summary] as const);
  const width = Math.max(0, ...rows.map(([n]) => n.length));
  const lines = [
    `Usage: ${PROGRAM} ${prefix.length ? `${prefix.join(' ')} ` : ''}COMMAND [flags] [arguments]`,
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`),
    '',
    `Run "${PROGRAM} COMMAND --help" for a command's flags.`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A reader that goes away (`sector-storage sectors list | head -1`, `| true`) makes writes to
 * stdout or stderr fail with EPIPE, which Node raises as an unhandled 'error' event: a stack trace
 * for a command that did its work. The output has nobody to go to, so it is dropped and the
 * command finishes with its own exit code; any other stream error is still raised.
 */
export function dropOutputOnClosedPipe(streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}

// Run only when executed as the program, not when imported by tests.
if (isMainModule()) {
  dropOutputOnClosedPipe();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`Error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
