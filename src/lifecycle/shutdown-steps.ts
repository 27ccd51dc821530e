/**
 * The shutdown of a process that booted in steps: each boot step registers how to undo itself,
 * and `run()` undoes them in reverse order. Every step runs even when an earlier one fails (the
 * repository lock must be released whatever happened before it); the failures are logged as they
 * happen and reported together, so a command can exit non-zero.
 */
import { InternalError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** One way to undo a boot step. */
export type ShutdownStep = () => Promise<void> | void;

export class ShutdownSteps {
  readonly #steps: { name: string; run: ShutdownStep }[] = [];
  readonly #log: Logger;
  #running: Promise<void> | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers `run` to be undone before everything registered earlier. */
  push(name: string, run: ShutdownStep): void {
    if (this.#running) throw new InternalError(`cannot register "${name}" during shutdown`);
    this.#steps.push({ name, run });
  }

  /**
   * Registers `run` to be undone right AFTER the step named `after` (which must exist), e.g. the
   * actor system after the HTTP server, so that in-flight calls end before the actors stop.
   */
  pushAfter(after: string, name: string, run: ShutdownStep): void {
    const at = this.#steps.findIndex((s) => s.name === after);
    if (at < 0) throw new InternalError(`no shutdown step named "${after}"`);
    this.#steps.splice(at, 0, { name, run });
  }

  /** The step names in the order `run()` will undo them. */
  get order(): string[] {
    return this.#steps.map((s) => s.name).reverse();
  }

  /** Undoes every step once (later calls return the same promise); rejects if any step failed. */
  run(): Promise<void> {
    this.#running ??= this.#runAll();
    return this.#running;
  }

  async #runAll(): Promise<void> {
    const failures: string[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.#log.warn(`shutdown step "${step.name}" failed: ${message}`);
        failures.push(`${step.name}: ${message}`);
      }
    }
    this.#steps.length = 0;
    if (failures.length > 0) {
      throw new InternalError(`shutdown finished with ${failures.length} failed step(s): ${failures.join('; ')}`);
    }
  }
}
