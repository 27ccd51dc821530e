/**
 * Command output: human text by default, one JSON document with `--json`. Results go to stdout,
 * diagnostics and progress to stderr, so `--json` output can be piped into `jq` untouched.
 */
import type { Writable } from 'node:stream';
import type { WireError } from '../errors.js';

/** Where a command writes. */
export interface OutputOptions {
  json: boolean;
  stdout?: Writable;
  stderr?: Writable;
}

export class Output {
  readonly json: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  /**
   * Prints a command's result: `data` as pretty JSON with `--json`, otherwise the human form.
   * bigint values are written as JSON numbers when safe, else as strings.
   */
  result<T>(data: T, human: (data: T) => string | readonly string[]): void {
    if (this.json) {
      this.stdout.write(`${toJson(data)}\n`);
      return;
    }
    const text = human(data);
    const lines = typeof text === 'string' ? [text] : text;
    for (const line of lines) this.stdout.write(`${line}\n`);
  }

  /** A human-only line on stdout (suppressed with `--json`). */
  line(text: string): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A diagnostic line on stderr (always shown). */
  info(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /**
   * Reports a failure on one stream: `{"error":{code,message}}` on stdout with `--json` (where the
   * result would have been), otherwise `Error: <message> [CODE]` on stderr.
   */
  error(err: WireError): void {
    if (this.json) {
      this.stdout.write(`${toJson({ error: err })}\n`);
      return;
    }
    this.stderr.write(`Error: ${err.message}${err.code === 'INTERNAL' ? '' : ` [${err.code}]`}\n`);
  }
}

/** `1 piece`, `0 pieces`, `2 deals`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** JSON with 2-space indent; bigints as numbers when safe, else strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
    2,
  );
}

/**
 * Aligns columns like Go's tabwriter (which Lotus's CLI uses): each column padded to its widest
 * cell plus two spaces; the last column is not padded.
 */
export function tabulate(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2)))
      .join('')
      .trimEnd(),
  );
}

/**
 * A duration as lotus-miner prints job and seal times: Go's `Duration.String()` after
 * `Truncate(100 * time.Millisecond)` (`300ms`, `4.2s`, `1m5.3s`, `2h0m7s`).
 */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'n/a';
  const t = Math.floor(ms / 100) * 100;
  if (t === 0) return '0s';
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = ((t % 60_000) / 1000).toFixed(1).replace(/\.0$/, '');
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}
