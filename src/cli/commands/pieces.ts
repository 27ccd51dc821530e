/**
 * `sector-storage pieces …`: add and read pieces through the daemon, and the offline tools
 * `commp` (like `lotus client commP`) and `commd` (GenerateUnsealedCID) that need no daemon.
 */
import { availableParallelism } from 'node:os';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import {
  EmptyPayloadError,
  FileNotFoundError,
  FileUnreadableError,
  InvalidArgumentError,
  PieceCidInvalidError,
  SectorStorageError,
} from '../../errors.js';
import { DurableTempFile } from '../../fs/durable.js';
import type { PieceInfo } from '../../piece/unsealed-cid.js';
import { findWholePiece } from '../../piece/whole-piece.js';
import { assertPaddedSize, formatSize, parseSize } from '../../sector/sizes.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { ProgressBar } from '../progress.js';

/** Files at least this big are hashed on all pool threads by `pieces commp`. */
export const PARALLEL_COMMP_MIN_BYTES = 64 * 1024 * 1024;

/** Stats a payload file: FileNotFoundError / FileUnreadableError / EmptyPayloadError name it. */
export async function checkPayloadFile(path: string): Promise<number> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FileUnreadableError(`${path} is not a regular file`);
    size = st.size;
    // open now so an unreadable file fails here, not after the daemon has reserved space
    const fh = await open(path, 'r');
    await fh.close();
  } catch (err) {
    if (err instanceof SectorStorageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(`file ${path} does not exist`, { cause: err });
    throw new FileUnreadableError(`file ${path} cannot be read (${code ?? (err as Error).message})`, { cause: err });
  }
  if (size === 0) throw new EmptyPayloadError(`file ${path} is empty; a piece needs data`);
  return size;
}

/** A file's bytes as a stream of chunks, counting them into `onBytes`. */
async function* fileChunks(path: string, onBytes: (n: number) => void, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal }) as AsyncIterable<Buffer>) {
    sent += chunk.length;
    onBytes(sent);
    yield chunk;
  }
}

function parsePieceSizeFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = parseSize(text);
  assertPaddedSize(n, 'declared piece size (--piece-size)');
  return n;
}

const add = defineCommand({
  path: ['pieces', 'add'],
  summary: 'add a file (a CAR file or any file) as a piece to a sector, through the daemon',
  description:
    'Streams FILE to the daemon, which writes it fr32-padded into a sector\'s unsealed file and computes its piece CID on the way. Prints the piece CID (v1 and v2), the sector and the unpadded offset to use with "pieces read".',
  flags: {
    sector: { type: 'string', valueName: 'N', description: 'sector number to add to (default: an open sector, or a new one)' },
    'piece-size': {
      type: 'string',
      valueName: 'SIZE',
      description: 'declared padded piece size, a power of two ≥ 128 (e.g. 2KiB, 1MiB); default: the smallest that holds the file',
    },
  },
  positionals: [{ name: 'FILE', description: 'the payload file' }],
  async run({ flags, args, out, signal, connect }) {
    const file = args.FILE!;
    const sector = flags.sector === undefined ? undefined : parseIntArg(flags.sector, 'sector number (--sector)');
    const pieceSize = parsePieceSizeFlag(flags['piece-size']);
    const size = await checkPayloadFile(file);
    const api = await connect();
    const bar = new ProgressBar({ phase: 'upload' });
    const upload = new AbortController();
    const onAbort = () => upload.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const push = api.push(
        fileChunks(file, (n) => bar.update(n, size, 'upload'), upload.signal),
        { signal: upload.signal },
      );
      let result: Awaited<ReturnType<typeof api.call<'SectorAddPieceToAny'>>>;
      try {
        result = await api.call('SectorAddPieceToAny', size, { Type: 'push', Info: push.id }, { Sector: sector, PieceSize: pieceSize }, { signal });
      } catch (err) {
        upload.abort();
        throw err;
      }
      await push.done;
      bar.finish();
      out.result(
        {
          pieceCid: result.PieceCID,
          pieceCidV2: result.PieceCIDv2,
          sector: result.Sector,
          offset: result.Offset,
          paddedOffset: result.PaddedOffset,
          paddedSize: result.PaddedSize,
          payloadSize: result.PayloadSize,
        },
        (r) => [
          `Piece CID:    ${r.pieceCid}`,
          `Piece CID v2: ${r.pieceCidV2}`,
          `Sector:       ${r.sector}`,
          `Offset:       ${r.offset} (unpadded; padded ${r.paddedOffset})`,
          `Piece size:   ${formatSize(r.paddedSize)} padded (${r.paddedSize} bytes), payload ${r.payloadSize} bytes`,
        ],
      );
    } finally {
      bar.abort();
      signal.removeEventListener('abort', onAbort);
      api.close();
    }
  },
});

const read = defineCommand({
  path: ['pieces', 'read'],
  summary: 'read unpadded bytes of a sector back into a file, through the daemon',
  description:
    'Writes SIZE bytes starting at the unpadded OFFSET of SECTOR to --out (through a temporary file renamed into place, so a failed read leaves nothing behind). Use the offset and payload size printed by "pieces add" to get the original file back.\n\n' +
    'A read of a whole piece (from its offset, at least its payload size and at most its capacity long) is verified: the bytes are hashed while they stream and must give the piece CID recorded when the piece was added; otherwise the read fails with PIECE_CORRUPT and no file is written. Any other range cannot be checked (the piece CID covers the whole piece): it is returned as stored, and corruption inside it is not detected. --no-verify skips the check.',
  flags: {
    out: { type: 'string', valueName: 'FILE', required: true, description: 'output file' },
    'no-verify': { type: 'boolean', description: 'do not verify a whole piece against its piece CID' },
  },
  positionals: [
    { name: 'SECTOR', description: 'sector number' },
    { name: 'OFFSET', description: 'unpadded byte offset in the sector' },
    { name: 'SIZE', description: 'bytes to read' },
  ],
  async run({ flags, args, out, signal, connect }) {
    const sector = parseIntArg(args.SECTOR, 'SECTOR');
    const offset = parseIntArg(args.OFFSET, 'OFFSET');
    const size = parseIntArg(args.SIZE, 'SIZE');
    if (size === 0) throw new InvalidArgumentError('SIZE must be at least 1 byte');
    const target = flags.out;
    const api = await connect();
    const bar = new ProgressBar({ phase: 'read' });
    let file: DurableTempFile | undefined;
    try {
      // which piece the range reads whole decides whether it can be verified (and is said so)
      const status = await api.call('SectorsStatus', sector, { signal });
      const piece = flags['no-verify']
        ? undefined
        : findWholePiece(
            status.Pieces.map((p) => ({ pieceCid: p.PieceCID, paddedOffset: p.PaddedOffset, paddedSize: p.PaddedSize, payloadSize: p.PayloadSize })),
            offset,
            size,
          );
      const body = await api.stream('SectorsReadPiece', sector, offset, size, { Verify: piece !== undefined }, { signal });
      try {
        file = await DurableTempFile.open(target);
      } catch (err) {
        throw new FileUnreadableError(`cannot create a temp file next to --out ${target}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
          cause: err,
        });
      }
      let written = 0;
      for await (const chunk of body) {
        await file.handle.write(chunk);
        written += chunk.byteLength;
        bar.update(written, size);
      }
      if (written !== size) throw new InvalidArgumentError(`the daemon sent ${written} of ${size} bytes`);
      await file.commit();
      bar.finish();
      const why = flags['no-verify'] ? '--no-verify' : 'the range is not a whole piece, so nothing can be checked';
      out.result(
        { sector, offset, size, out: target, verified: piece !== undefined, ...(piece ? { pieceCid: piece.pieceCid } : {}) },
        (r) =>
          `wrote ${r.size} bytes of sector ${r.sector} (offset ${r.offset}) to ${r.out}, ${r.pieceCid ? `verified against piece ${r.pieceCid}` : `not verified (${why})`}`,
      );
    } catch (err) {
      await file?.discard();
      throw err;
    } finally {
      bar.abort();
      api.close();
    }
  },
});

const commp = defineCommand({
  path: ['pieces', 'commp'],
  summary: 'compute the piece CID of a file, offline (like "lotus client commP")',
  flags: {},
  positionals: [{ name: 'FILE', description: 'the payload file' }],
  async run({ args, out, signal }) {
    const file = args.FILE!;
    const size = await checkPayloadFile(file);
    const bar = new ProgressBar({ phase: 'commP' });
    // below this size starting the thread pool costs more than it saves
    const usePool = size >= PARALLEL_COMMP_MIN_BYTES && availableParallelism() > 1;
    // loaded on use: the CLI's start-up stays light for commands that only talk to the daemon
    const { commPFile } = await import('../../piece/commp.js');
    const { commPFileParallel } = await import('../../pool/commp-parallel.js');
    const pool = usePool ? new (await import('../../pool/pool.js')).SealerPool() : undefined;
    try {
      const r = pool
        ? await commPFileParallel(file, pool, { signal, onProgress: (done, total) => bar.update(done, total) })
        : await commPFile(file, { signal, onProgress: (n) => bar.update(n, size) });
      bar.finish();
      out.result(
        { pieceCid: r.pieceCid.toString(), pieceCidV2: r.pieceCidV2.toString(), paddedSize: r.paddedSize, payloadSize: r.payloadSize },
        (d) => [`CID:  ${d.pieceCid}`, `CIDv2: ${d.pieceCidV2}`, `Piece size: ${formatSize(d.paddedSize)} (${d.paddedSize} bytes padded), payload ${d.payloadSize} bytes`],
      );
    } finally {
      bar.abort();
      await pool?.close();
    }
  },
});

/**
 * Parses `PIECECID[:PADDEDSIZE]` (the size may be omitted for a v2 CID, which carries it). Pieces
 * are numbered from 0 in errors, as `computeCommD` and `sectors status` number them.
 */
export function parsePieceArg(text: string, index: number): PieceInfo {
  const colon = text.lastIndexOf(':');
  const cid = colon < 0 ? text : text.slice(0, colon);
  if (cid === '') throw new PieceCidInvalidError(`piece ${index} "${text}" has no piece CID before ":"`);
  if (colon < 0) return { pieceCid: cid };
  const sizeText = text.slice(colon + 1);
  let paddedSize: number;
  try {
    paddedSize = parseSize(sizeText);
  } catch {
    throw new InvalidArgumentError(`piece ${index} "${text}": padded size "${sizeText}" is not a size`);
  }
  return { pieceCid: cid, paddedSize };
}

const commd = defineCommand({
  path: ['pieces', 'commd'],
  summary: 'compute the unsealed sector CID (CommD) of ordered pieces, offline',
  description:
    'Places each piece at the next multiple of its padded size, fills the gaps and the rest of the sector with zero pieces, and prints the root (GenerateUnsealedCID). With no pieces, prints the CommD of an empty sector.',
  flags: {
    'sector-size': { type: 'string', valueName: 'SIZE', required: true, description: 'sector size (2KiB, 8MiB, 512MiB, 32GiB, 64GiB or bytes)' },
  },
  positionals: [{ name: 'PIECECID:PADDEDSIZE', description: 'pieces in sector order (size optional for v2 CIDs)', variadic: true, required: false }],
  async run({ flags, rest, out }) {
    const sectorSize = parseSize(flags['sector-size']);
    assertPaddedSize(sectorSize, 'sector size (--sector-size)');
    const pieces = rest.map(parsePieceArg);
    const { computeCommD } = await import('../../piece/unsealed-cid.js');
    const { pieceCidV1 } = await import('../../piece/piece-cid.js');
    const commD = pieceCidV1(computeCommD(sectorSize, pieces)).toString();
    out.result({ commD, sectorSize, pieces: pieces.length }, (d) => `CommD: ${d.commD}`);
  },
});

export const piecesCommands = [add, read, commp, commd];
