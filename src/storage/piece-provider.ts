/**
 * The piece provider (Lotus `extern/sector-storage/piece_provider.go`): whether a range of a
 * sector's unsealed data is at hand, and a streaming reader of any unpadded byte range of it,
 * unsealing first when only the sealed replica has it.
 *
 * As Lotus, the read lock on the unsealed file is taken before the reader is opened and held for
 * the reader's life (a finalize or a removal waits for it), and it is dropped before an unseal,
 * which writes that file. Unlike Lotus, the range may start and end at any unpadded byte (Lotus
 * requires a multiple of 127): the covering fr32 blocks are read and the range cut out of them.
 * Concurrent reads that need the same unseal share one (one UNS call per sector and range).
 */
import { AbortedError, FetchFailedError } from '../errors.js';
import { type PaddedWindow, paddedWindow, unpadWindow } from '../piece/unpad-stream.js';
import { sealProofInfo } from '../sector/proofs.js';
import { FileType, type SectorRef, sectorName } from '../sector/sector-id.js';
import type { UnpaddedRange } from '../tasks/task-types.js';
import { InvalidArgumentError } from '../errors.js';
import type { SectorLock, SectorLocks } from './sector-locks.js';
import type { Logger } from '../log/logger.js';

/** Where unsealed data is read from: the node's RemoteStore (local copy first, then other nodes). */
export interface UnsealedSource {
  /** Whether the unpadded range (offset and size multiples of 127) is allocated in some unsealed copy. */
  checkAllocated(ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<boolean>;
  /** The padded bytes of `[offset, offset+size)` (multiples of 128) from a copy that has them, or null. */
  reader(ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array> | null>;
}

export interface PieceProviderDeps {
  source: UnsealedSource;
  locks: Pick<SectorLocks, 'acquire'>;
  /**
   * Decodes `range` (unpadded, multiples of 127) of the sealed replica back into the unsealed
   * file: an UNS task run through the scheduler (Lotus `SectorsUnsealPiece`).
   */
  unseal(ref: SectorRef, range: UnpaddedRange, signal?: AbortSignal): Promise<void>;
  log?: Logger;
}

/** An open range of a piece: its bytes (read once), and `close()` for a reader given up early. */
export interface PieceReader extends AsyncIterable<Uint8Array> {
  /** The range had to be unsealed first. */
  readonly didUnseal: boolean;
  /** Unpadded bytes the reader yields. */
  readonly size: number;
  /** Stops reading and releases the sector's read lock (also done when the bytes end). */
  close(): Promise<void>;
}

export interface ReadPieceRangeOptions {
  signal?: AbortSignal;
  /** The range to unseal when nothing has the data (the whole piece, as Lotus). @default the covering blocks of the read */
  unsealRange?: UnpaddedRange;
}

function checkRange(ref: SectorRef, offset: number, size: number): PaddedWindow {
  const w = paddedWindow(offset, size);
  const sectorSize = sealProofInfo(ref.proofType).sectorSize;
  if (w.start + w.length > sectorSize) {
    throw new InvalidArgumentError(`range of ${size} bytes at unpadded offset ${offset} ends past the ${sectorSize}-byte ${sectorName(ref.id)}`);
  }
  return w;
}

const unpaddedOf = (w: PaddedWindow): UnpaddedRange => ({ offset: (w.start / 128) * 127, size: (w.length / 128) * 127 });

export class PieceProvider {
  readonly #d: PieceProviderDeps;
  /** Unseals in flight by sector and range, shared by the reads that wait on them. */
  readonly #unsealing = new Map<string, Promise<void>>();

  constructor(deps: PieceProviderDeps) {
    this.#d = deps;
  }

  /** Whether the unpadded range `[offset, offset+size)` can be read without unsealing (Lotus IsUnsealed). */
  async isUnsealed(ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<boolean> {
    const w = checkRange(ref, offset, size);
    const lock = await this.#lock(ref, signal);
    try {
      const u = unpaddedOf(w);
      return await this.#d.source.checkAllocated(ref, u.offset, u.size, signal);
    } finally {
      lock.release();
    }
  }

  /**
   * A reader of the unpadded bytes `[offset, offset+size)` of the sector (Lotus ReadPiece),
   * unsealing them first when no unsealed copy has them.
   * @throws InvalidArgumentError for a range outside the sector; FetchFailedError when even after
   *   the unseal no copy has the range; the unseal's own error when it fails
   */
  async readPiece(ref: SectorRef, offset: number, size: number, options: ReadPieceRangeOptions = {}): Promise<PieceReader> {
    const w = checkRange(ref, offset, size);
    const first = await this.#tryRead(ref, w, options.signal);
    if (first) return this.#reader(first, w, size, false);
    await this.#unsealShared(ref, options.unsealRange ?? unpaddedOf(w), options.signal);
    const again = await this.#tryRead(ref, w, options.signal);
    if (!again) throw new FetchFailedError(`got no reader of ${sectorName(ref.id)} [${offset}, +${size}) after unsealing it`);
    return this.#reader(again, w, size, true);
  }

  async #lock(ref: SectorRef, signal?: AbortSignal): Promise<SectorLock> {
    if (signal?.aborted) throw new AbortedError(`the read of ${sectorName(ref.id)} was cancelled`);
    return this.#d.locks.acquire(ref.id, FileType.unsealed, FileType.none, signal ? { signal } : {});
  }

  /** The read lock and a padded reader, or null (lock released) when no copy has the window. */
  async #tryRead(ref: SectorRef, w: PaddedWindow, signal?: AbortSignal): Promise<{ lock: SectorLock; padded: AsyncIterable<Uint8Array> } | null> {
    const lock = await this.#lock(ref, signal);
    try {
      const padded = await this.#d.source.reader(ref, w.start, w.length, signal);
      if (padded) return { lock, padded };
    } catch (err) {
      lock.release();
      throw err;
    }
    lock.release();
    return null;
  }

  #unsealShared(ref: SectorRef, range: UnpaddedRange, signal?: AbortSignal): Promise<void> {
    const key = `${ref.id.miner}:${ref.id.number}:${range.offset}:${range.size}`;
    let running = this.#unsealing.get(key);
    if (!running) {
      this.#d.log?.info(`${sectorName(ref.id)}: no unsealed copy of [${range.offset}, +${range.size}), unsealing it`);
      // not tied to one caller's signal: another read may be waiting on it
      running = this.#d.unseal(ref, range).finally(() => this.#unsealing.delete(key));
      this.#unsealing.set(key, running);
    }
    if (!signal) return running;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new AbortedError(`the read of ${sectorName(ref.id)} stopped waiting for its unseal`));
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  #reader(open: { lock: SectorLock; padded: AsyncIterable<Uint8Array> }, w: PaddedWindow, size: number, didUnseal: boolean): PieceReader {
    const it = unpadWindow(open.padded, w, size);
    let started = false;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      try {
        if (started) await it.return(undefined);
        else {
          // a generator never started runs no cleanup on return(): start the source and stop it
          // so its file handle or response is let go
          const src = open.padded[Symbol.asyncIterator]();
          await src.next().catch(() => {});
          await src.return?.(undefined);
        }
      } finally {
        open.lock.release();
      }
    };
    return {
      didUnseal,
      size,
      close,
      async *[Symbol.asyncIterator]() {
        if (closed || started) throw new InvalidArgumentError('the piece reader is closed or already read');
        started = true;
        try {
          yield* it;
        } finally {
          await close();
        }
      },
    };
  }
}
