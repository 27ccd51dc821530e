/**
 * A progress bar on stderr for anything that may take more than a second. It stays silent for
 * the first `delayMs` (short operations print nothing), then shows
 * `phase [#####·····]  42%  1.2 GiB/2.9 GiB  310 MiB/s  ETA 6s`, redrawn in place on a TTY and as
 * plain lines (at most one every `lineIntervalMs`) when stderr is a pipe or a file.
 * Feed it with {@link ProgressBar.update} or directly with the pool's {@link TaskProgress}.
 */
import type { Writable } from 'node:stream';
import { formatSize } from '../sector/sizes.js';
import type { TaskProgress } from '../lifecycle/task-context.js';

export interface ProgressBarOptions {
  /** @default process.stderr */
  stream?: Writable & { isTTY?: boolean; columns?: number };
  /** Label shown before the bar until a phase arrives. @default '' */
  phase?: string;
  /** `bytes` formats done/total/rate in binary units; `count` prints plain numbers. @default 'bytes' */
  unit?: 'bytes' | 'count';
  /** Nothing is drawn before this much time has passed. @default 1000 */
  delayMs?: number;
  /** Minimum time between plain (non-TTY) lines. @default 2000 */
  lineIntervalMs?: number;
  /** Forces TTY or plain mode (tests). @default stream.isTTY */
  tty?: boolean;
  /** Clock (tests). @default Date.now */
  now?: () => number;
  /** `false`: never writes; the bar only keeps its state for {@link ProgressBar.render} (a table cell). @default true */
  draw?: boolean;
  /** Characters between the brackets. @default 24 */
  barWidth?: number;
}

const RATE_WINDOW_MS = 5000;

export class ProgressBar {
  readonly #stream: Writable & { isTTY?: boolean; columns?: number };
  readonly #unit: 'bytes' | 'count';
  readonly #delayMs: number;
  readonly #lineIntervalMs: number;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #start: number;
  readonly #drawing: boolean;
  readonly #barWidth: number;
  #phase: string;
  #done = 0;
  #total = 0;
  #detail: string | undefined;
  #lastDraw = 0;
  #lastLine = '';
  /** Phase whose 100 % line has been drawn (drawn once, however many final reports arrive). */
  #completedPhase: string | undefined;
  #drawn = false;
  #finished = false;
  /** Recent (time, done) samples for the rate; reset when the phase changes. */
  #samples: Array<[number, number]> = [];

  constructor(options: ProgressBarOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#unit = options.unit ?? 'bytes';
    this.#delayMs = options.delayMs ?? 1000;
    this.#lineIntervalMs = options.lineIntervalMs ?? 2000;
    this.#tty = options.tty ?? this.#stream.isTTY === true;
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
    this.#drawing = options.draw ?? true;
    this.#barWidth = options.barWidth ?? 24;
    this.#phase = options.phase ?? '';
  }

  /** Updates the bar; draws when due. */
  update(done: number, total: number, phase?: string, detail?: string): void {
    if (this.#finished) return;
    const t = this.#now();
    if (phase !== undefined && phase !== this.#phase) {
      this.#phase = phase;
      this.#samples = [];
    }
    this.#done = done;
    this.#total = total;
    this.#detail = detail;
    this.#samples.push([t, done]);
    while (this.#samples.length > 2 && t - this.#samples[0]![0] > RATE_WINDOW_MS) this.#samples.shift();
    if (!this.#drawing || t - this.#start < this.#delayMs) return;
    const interval = this.#tty ? 100 : this.#lineIntervalMs;
    const completes = done >= total && total > 0;
    if (completes && this.#completedPhase === this.#phase) return;
    if (this.#drawn && t - this.#lastDraw < interval && !completes) return;
    this.#draw(t);
  }

  /** Feeds a pool task's progress report. */
  report(p: TaskProgress): void {
    this.update(p.done, p.total, p.phase, p.detail);
  }

  /** Draws the final state (only if the bar was ever shown) and ends the line. */
  finish(message?: string): void {
    if (this.#finished) return;
    const t = this.#now();
    if (this.#drawn && this.#completedPhase !== this.#phase) this.#draw(t);
    this.#finished = true;
    if (this.#drawn && this.#tty) this.#stream.write('\n');
    if (message && this.#drawn) this.#stream.write(`${message}\n`);
  }

  /** Removes a TTY bar without a final line (on errors, so the error message starts clean). */
  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#drawn && this.#tty) this.#stream.write('\r\x1b[2K');
  }

  /** The current line's text (tests and plain mode). */
  render(t = this.#now()): string {
    const parts: string[] = [];
    if (this.#phase) parts.push(this.#phase);
    const known = this.#total > 0;
    const frac = known ? Math.min(1, this.#done / this.#total) : 0;
    if (known) {
      const filled = Math.round(frac * this.#barWidth);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(this.#barWidth - filled)}]`);
      parts.push(`${(frac * 100).toFixed(0).padStart(3)}%`);
    }
    parts.push(known ? `${this.#fmt(this.#done)}/${this.#fmt(this.#total)}` : this.#fmt(this.#done));
    const rate = this.#rate();
    if (rate !== undefined) {
      parts.push(`${this.#fmt(rate)}/s`);
      if (known && this.#done < this.#total && rate > 0) parts.push(`ETA ${formatDuration((this.#total - this.#done) / rate)}`);
    }
    if (known && this.#done >= this.#total) parts.push(`in ${formatDuration((t - this.#start) / 1000)}`);
    if (this.#detail) parts.push(this.#detail);
    return parts.join('  ');
  }

  #rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last[0] - first[0] < 200) return undefined;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  #fmt(n: number): string {
    return this.#unit === 'bytes' ? formatSize(Math.round(n)) : String(Math.round(n));
  }

  #draw(t: number): void {
    let line = this.render(t);
    // several "100 %" reports in a row (and finish() after them) print one line, not many
    if (line === this.#lastLine) return;
    this.#lastLine = line;
    this.#lastDraw = t;
    this.#drawn = true;
    if (this.#total > 0 && this.#done >= this.#total) this.#completedPhase = this.#phase;
    if (this.#tty) {
      const cols = this.#stream.columns ?? 100;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      this.#stream.write(`\r\x1b[2K${line}`);
    } else {
      this.#stream.write(`${line}\n`);
    }
  }
}

/** `75` → "1m15s", `3.2` → "3s", `4000` → "1h6m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
