/**
 * A client's upload as the AddPiece task reads it: every wait for the client's next chunk is
 * bounded by an idle timeout, and the first chunk can be awaited before the task takes a pool
 * thread (sealing-daemon.md §8 "Uploads"). Bytes not yet received never occupy a sealing thread
 * for long: a client that goes silent fails its piece with UPLOAD_STALLED after `idleMs`, and the
 * thread waiting for it is released at once (the failure travels down the port as a stream error).
 *
 * The timer runs only while the client is being waited for: when the thread is slow and stops
 * granting credit, nothing is asked of the client and no time is counted against it.
 */
import { AbortedError, InternalError, InvalidArgumentError, UploadStalledError } from '../errors.js';

export class UploadStream implements AsyncIterable<Uint8Array> {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #idleMs: number;
  readonly #what: string;
  #first: Promise<IteratorResult<Uint8Array>> | undefined;
  #read = false;

  /** `what` names the upload in errors (the piece and sector it is for). */
  constructor(source: AsyncIterable<Uint8Array>, idleMs: number, what: string) {
    if (!(idleMs > 0)) throw new InvalidArgumentError(`the upload idle timeout must be a positive number of milliseconds, got ${idleMs}`);
    this.#it = source[Symbol.asyncIterator]();
    this.#idleMs = idleMs;
    this.#what = what;
  }

  /**
   * Resolves once the client's first chunk (or the end of an empty upload) has arrived. Rejects
   * with UploadStalledError after `idleMs` of silence, or AbortedError when `signal` aborts (the
   * chunk, if it comes later, is still the stream's first).
   */
  ready(signal?: AbortSignal): Promise<void> {
    this.#first ??= this.#pull();
    const first = this.#first.then(() => undefined);
    if (!signal) return first;
    if (signal.aborted) return Promise.reject(new AbortedError(`${this.#what}: cancelled while waiting for the upload's first bytes`));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new AbortedError(`${this.#what}: cancelled while waiting for the upload's first bytes`));
      signal.addEventListener('abort', onAbort, { once: true });
      first.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** The upload's chunks, once. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#read) throw new InternalError(`${this.#what}: an upload can be read only once`);
    this.#read = true;
    let ended = false;
    try {
      let r = await (this.#first ?? this.#pull());
      this.#first = undefined;
      while (!r.done) {
        yield r.value;
        r = await this.#pull();
      }
      ended = true;
    } finally {
      // the reader stopped early or the client failed: let the source release what it holds
      if (!ended) void Promise.resolve(this.#it.return?.()).catch(() => {});
    }
  }

  /** The source's next chunk, or UploadStalledError when it sends nothing for `idleMs`. */
  #pull(): Promise<IteratorResult<Uint8Array>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new UploadStalledError(`${this.#what}: the upload sent nothing for ${this.#idleMs} ms`));
      }, this.#idleMs);
      this.#it.next().then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}
