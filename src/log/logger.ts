/**
 * The one home of logging: pino JSON lines (`{"level":30,"time":…,"component":"storage",
 * "sector":3,"msg":"…"}`), one child logger per component and per sector. The daemon's and the
 * worker's composition roots create the root logger and hand children down as `log` options;
 * a module given none logs through {@link defaultLogger}.
 *
 * Lines go to stderr (stdout carries the CLI's results). On a terminal they are pretty-printed through pino-pretty (in the same thread, so a crash
 * loses nothing already logged); into a pipe or a file they stay JSON for log shippers.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty, loaded only for a terminal (library users and log shippers never need it). */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

/** A logger: pino's, or anything with its methods (tests record lines). */
export interface Logger {
  trace(msg: string): void;
  trace(obj: object, msg?: string): void;
  debug(msg: string): void;
  debug(obj: object, msg?: string): void;
  info(msg: string): void;
  info(obj: object, msg?: string): void;
  warn(msg: string): void;
  warn(obj: object, msg?: string): void;
  error(msg: string): void;
  error(obj: object, msg?: string): void;
  /** A logger whose lines carry `bindings` (`{ component: 'storage' }`, `{ sector: 3 }`). */
  child(bindings: Record<string, unknown>): Logger;
}

/** Log levels, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** @default info, or SECTOR_STORAGE_LOG_LEVEL */
  level?: LogLevel;
  /** Where lines go. @default stderr (fd 2): stdout carries the CLI's results */
  destination?: NodeJS.WritableStream;
  /** Pretty-print instead of JSON. @default when the destination is stderr and stderr is a terminal */
  pretty?: boolean;
  /** Fields of every line. */
  base?: Record<string, unknown>;
}

function levelFromEnv(): LogLevel | undefined {
  const v = process.env.SECTOR_STORAGE_LOG_LEVEL;
  return v !== undefined && (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}

/** A root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv() ?? 'info';
  const toTerminal = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  const base = { pid: process.pid, ...options.base };
  if (toTerminal) {
    const stream = loadPretty()({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', ...(options.destination ? { destination: options.destination } : {}) });
    return pino({ level, base }, stream);
  }
  return pino({ level, base }, options.destination ?? pino.destination({ fd: 2, sync: true }));
}

let fallback: Logger | undefined;

/** The logger of modules given none (library use): JSON lines on stderr, created on first use. */
export function defaultLogger(): Logger {
  fallback ??= createLogger();
  return fallback;
}

/** A logger that drops everything (modules whose lines only a caller that asks should see). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
