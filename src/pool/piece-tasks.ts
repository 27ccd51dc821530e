/**
 * Pool task handlers of the piece path (spread into src/pool/handlers.ts). Inputs and outputs
 * are structured-cloneable: CIDs travel as strings, commitments as bytes. Payloads come from a
 * file path or from a MessagePort stream (src/pool/port-stream.ts), so nothing large is copied
 * between threads.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Handler } from './handlers.js';
import { receiveStream } from './port-stream.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type AddPieceResult, addPiece, addPieceWithPadding } from '../piece/add-piece.js';
import { readFileRange } from '../piece/byte-source.js';
import { carInfo } from '../piece/car-info.js';
import { commPFile } from '../piece/commp.js';
import { CommPHasher } from '../piece/commp-hasher.js';
import { readPieceToFile } from '../piece/read-piece.js';

/** A piece the addPiece task wrote, as it crosses threads back from the pool (CIDs as strings). */
export interface PieceWritten {
  pieceCid: string;
  pieceCidV2: string;
  commP: Uint8Array;
  paddedOffset: number;
  paddedSize: number;
  payloadSize: number;
  created: boolean;
}

function wire(p: AddPieceResult): PieceWritten {
  return {
    pieceCid: p.pieceCid.toString(),
    pieceCidV2: p.pieceCidV2.toString(),
    commP: p.commP,
    paddedOffset: p.paddedOffset,
    paddedSize: p.paddedSize,
    payloadSize: p.payloadSize,
    created: p.created,
  };
}

export const pieceHandlers = {
  /** commP of a whole file on one thread. */
  async commPFile(input: { path: string }, ctx: TaskContext) {
    const r = await commPFile(input.path, {
      checkCancelled: () => ctx.throwIfCancelled(),
      onProgress: (done) => ctx.progress({ phase: 'commP', done, total: 0, detail: input.path }),
    });
    return {
      pieceCid: r.pieceCid.toString(),
      pieceCidV2: r.pieceCidV2.toString(),
      commP: r.commP,
      paddedSize: r.paddedSize,
      payloadSize: r.payloadSize,
    };
  },

  /**
   * Root of one aligned subtree of a file's piece: the file bytes from unpadded `offset` (a
   * multiple of `subtreeSize`·127/128) for `subtreeSize`·127/128 bytes, zero-filled past EOF.
   */
  async commPRange(input: { path: string; offset: number; subtreeSize: number }, ctx: TaskContext) {
    const capacity = input.subtreeSize - input.subtreeSize / 128;
    const hasher = new CommPHasher({ chunkBlocks: Math.min(8192, input.subtreeSize / 128) });
    for await (const chunk of readFileRange(input.path, input.offset, capacity)) {
      ctx.throwIfCancelled();
      await hasher.write(chunk);
      ctx.progress({ phase: 'commP', done: hasher.count, total: capacity });
    }
    return { root: await hasher.finish(input.subtreeSize), bytes: hasher.count };
  },

  /**
   * Adds a piece to a sector's unsealed file. The payload is a file (`sourcePath`), a stream on
   * `sourcePort` (transfer the port; the caller runs `sendStream`), or neither (a zero filler
   * piece). With `alignPadding`, zero pieces are added first so the piece is aligned, and
   * removed again if the piece fails. `carRoots` reports a CAR payload file's roots.
   */
  async addPiece(
    input: {
      unsealedPath: string;
      sectorSize: number;
      paddedOffset: number;
      pieceSize: number;
      sourcePath?: string;
      sourcePort?: MessagePort;
      alignPadding?: boolean;
    },
    ctx: TaskContext,
  ) {
    const car = input.sourcePath ? await carInfo(input.sourcePath) : null;
    const source = input.sourcePath
      ? readFileRange(input.sourcePath)
      : input.sourcePort
        ? receiveStream(input.sourcePort)
        : undefined;
    const options = {
      unsealedPath: input.unsealedPath,
      sectorSize: input.sectorSize,
      paddedOffset: input.paddedOffset,
      pieceSize: input.pieceSize,
      source,
      checkCancelled: () => ctx.throwIfCancelled(),
      onProgress: (done: number, total: number) => ctx.progress({ phase: 'addPiece', done, total }),
    };
    const carRoots = car ? { version: car.version, roots: car.roots.map((r) => r.toString()) } : null;
    if (input.alignPadding) {
      const r = await addPieceWithPadding(options);
      return { piece: wire(r.piece), fillers: r.fillers.map(wire), end: r.end, car: carRoots };
    }
    const piece = wire(await addPiece(options));
    return { piece, fillers: [] as PieceWritten[], end: piece.paddedOffset + piece.paddedSize, car: carRoots };
  },

  /** Reads unpadded bytes of a sector's unsealed file into a new file at `outPath`. */
  async readPiece(
    input: { unsealedPath: string; sectorSize: number; unpaddedOffset: number; size: number; outPath: string },
    ctx: TaskContext,
  ) {
    return readPieceToFile({
      ...input,
      checkCancelled: () => ctx.throwIfCancelled(),
      onProgress: (done, total) => ctx.progress({ phase: 'readPiece', done, total }),
    });
  },
} satisfies Record<string, Handler>;
