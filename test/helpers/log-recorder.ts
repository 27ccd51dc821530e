/**
 * A {@link Logger} for tests: records each line's message (and its fields) instead of printing.
 */
import type { Logger } from '../../src/log/logger.js';

export interface RecordedLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger recording into `lines` (children record there too, with their bindings). */
export function recordingLogger(lines: RecordedLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: RecordedLine[]; messages(): string[] } {
  const at =
    (level: string) =>
    (a: string | object, b?: string): void => {
      if (typeof a === 'string') lines.push({ level, msg: a, fields: { ...bindings } });
      else lines.push({ level, msg: b ?? '', fields: { ...bindings, ...a } });
    };
  return {
    lines,
    messages: () => lines.map((l) => l.msg),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

/** A logger that appends each line's message to `messages` (for tests that match lines as text). */
export function messageLogger(messages: { push(message: string): unknown }): Logger {
  const at = (a: string | object, b?: string): void => {
    messages.push(typeof a === 'string' ? a : (b ?? ''));
  };
  const logger: Logger = { trace: at, debug: at, info: at, warn: at, error: at, child: () => logger };
  return logger;
}
