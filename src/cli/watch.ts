/**
 * What the `--watch` views share (`sealing jobs --watch`, `sectors status N --watch`, both fed by
 * the daemon's channels, `SealingJobsNotify` and `SectorNotify`): one progress bar per running
 * call kept across updates (so it has a rate and an ETA), and a block of lines redrawn in place
 * on a terminal.
 */
import type { Writable } from 'node:stream';
import type { WorkerJob } from '../api/methods/sealing.js';
import { ProgressBar } from './progress.js';

/** How often the terminal view of `sealing jobs --watch` is redrawn. */
export const WATCH_INTERVAL_MS = 1000;

/**
 * Whether a task phase counts bytes (else nodes or items). The phases are those the tasks report:
 * `addPiece`, `commP`, `readPiece`, `commd`, `layer-check` and `fetch <file type>` are bytes;
 * `pc1`, `parents`, `pc2`, `c1` and the unseal phases are nodes or challenges.
 */
export function progressUnit(phase: string): 'bytes' | 'count' {
  return /^(addPiece|commP|readPiece|commd|layer-check|fetch\b)/.test(phase) ? 'bytes' : 'count';
}

/**
 * One {@link ProgressBar} (never drawn by itself) per running call, fed by each update's
 * `WorkerJob.Progress`, rendered as text: `pc1  [######......]  48%  252000/524288  61234/s  ETA 4s  layer 1/2`.
 */
export class JobBars {
  readonly #bars = new Map<string, { unit: 'bytes' | 'count'; bar: ProgressBar }>();
  readonly #now: () => number;
  readonly #barWidth: number;

  constructor(options: { now?: () => number; barWidth?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#barWidth = options.barWidth ?? 16;
  }

  /** Feeds the jobs listed now; forgets the calls that are no longer listed. */
  update(jobs: readonly WorkerJob[]): void {
    const seen = new Set<string>();
    for (const j of jobs) {
      if (!j.Progress) continue;
      seen.add(j.ID.ID);
      const unit = progressUnit(j.Progress.Phase);
      let entry = this.#bars.get(j.ID.ID);
      if (!entry || entry.unit !== unit) {
        entry = { unit, bar: new ProgressBar({ draw: false, unit, now: this.#now, barWidth: this.#barWidth }) };
        this.#bars.set(j.ID.ID, entry);
      }
      // a URL (a fetch's source) is too long for a line; the phase names the file type
      const detail = j.Progress.Detail?.includes('://') ? undefined : j.Progress.Detail;
      entry.bar.update(j.Progress.Done, j.Progress.Total, j.Progress.Phase, detail);
    }
    for (const id of this.#bars.keys()) if (!seen.has(id)) this.#bars.delete(id);
  }

  /** The bar of a call ('' before its first progress report). */
  text(callId: string): string {
    return this.#bars.get(callId)?.bar.render(this.#now()) ?? '';
  }
}

/** A terminal stream: `isTTY` and `columns` as Node's tty.WriteStream has them. */
export type TermStream = Writable & { isTTY?: boolean; columns?: number };

/** A block of lines redrawn in place on a terminal: each frame replaces the previous one. */
export class TtyFrame {
  readonly #stream: TermStream;
  #lines = 0;

  constructor(stream: TermStream) {
    this.#stream = stream;
  }

  /** Replaces the previous frame with `lines`, each cut to the terminal's width (a wrapped line would break the redraw). */
  draw(lines: readonly string[]): void {
    const width = Math.max(20, (this.#stream.columns || 100) - 1);
    const up = this.#lines > 0 ? `\x1b[${this.#lines}F` : '';
    this.#stream.write(`${up}\x1b[0J${lines.map((l) => (l.length > width ? l.slice(0, width) : l)).join('\n')}\n`);
    this.#lines = lines.length;
  }
}
