/**
 * Piece methods:
 * - `Filecoin.SectorAddPieceToAny(payloadSize, data, opts)` (write): adds a piece whose bytes
 *   are pushed to `/rpc/streams/v0/push/<uuid>`; `data` is Lotus's reader reference
 *   `{"Type":"push","Info":"<uuid>"}`; `opts` is `{"Sector"?: n, "PieceSize"?: padded}`.
 * - `Filecoin.SectorsReadPiece(sector, offset, size, opts?)` (admin, streamed): the unpadded bytes
 *   `[offset, offset+size)` of a sector, as the HTTP response body. Admin like Lotus's `/remote`,
 *   since it hands out stored data. `opts` is `{"Verify"?: boolean}`: a range that reads a whole
 *   recorded piece is verified against its piece CID unless `Verify` is false (PIECE_CORRUPT when
 *   the bytes do not match; see piece/whole-piece.ts for what a range read can guarantee);
 *   `Verify: true` on a range that is not a whole piece is INVALID_ARGUMENT.
 */
import {
  InvalidArgumentError,
  PayloadTooLargeError,
  PayloadTooSmallError,
} from '../../errors.js';
import { verifyPieceStream } from '../../piece/verify-piece.js';
import { findWholePiece } from '../../piece/whole-piece.js';
import { dealPieceSize } from '../../sector/sizes.js';
import { expectArity, intField, intParam, objectParam } from '../params.js';
import { defineMethod, defineStreamMethod } from '../rpc-method.js';
import { isStreamId } from '../stream-registry.js';
import { sectorService } from './sectors.js';

/** Lotus's reference to request data sent out of band. */
export interface DataRef {
  Type: 'push';
  /** Stream uuid. */
  Info: string;
}

/** Options of `SectorAddPieceToAny`. */
export interface AddPieceOptions {
  /** Target sector; the scheduler picks (or creates) one when absent. */
  Sector?: number;
  /** Declared padded piece size (power of two ≥ 128); default: the smallest holding the payload. */
  PieceSize?: number;
}

/** Options of `SectorsReadPiece`. */
export interface ReadPieceOptions {
  /** Verify the piece read against its piece CID; default: when the range is a whole recorded piece. */
  Verify?: boolean;
}

/** Result of `SectorAddPieceToAny` (Lotus's SectorOffset plus the piece's identity). */
export interface AddPieceResult {
  Sector: number;
  /** Unpadded offset of the piece in the sector (for `SectorsReadPiece`). */
  Offset: number;
  PaddedOffset: number;
  PieceCID: string;
  PieceCIDv2: string;
  PaddedSize: number;
  PayloadSize: number;
}

/** Param `index` as a pushed upload's data ref (`{"Type":"push","Info":uuid}`), naming what is wrong. */
export function pushDataParam(raw: unknown[], index: number): DataRef {
  const data = objectParam(raw, index, 'data');
  if (data.Type !== 'push' || typeof data.Info !== 'string' || !isStreamId(data.Info)) {
    throw new InvalidArgumentError(`param data must be {"Type":"push","Info":"<stream uuid>"} (got ${JSON.stringify(data)})`);
  }
  return { Type: 'push', Info: data.Info };
}

/** The wire shape of a piece added to a sector (`SectorAddPieceToAny`, and `PiecesImport` besides its roots). */
export function addPieceResult(added: { sector: number; offset: number; paddedOffset: number; pieceCid: string; pieceCidV2: string; paddedSize: number; payloadSize: number }): AddPieceResult {
  return {
    Sector: added.sector,
    Offset: added.offset,
    PaddedOffset: added.paddedOffset,
    PieceCID: added.pieceCid,
    PieceCIDv2: added.pieceCidV2,
    PaddedSize: added.paddedSize,
    PayloadSize: added.payloadSize,
  };
}

/**
 * Yields `source` and checks it ends at exactly `expected` bytes (naming the stream on mismatch).
 * With `payload`, a mismatch is the client's payload being too long or too short
 * (PAYLOAD_TOO_LARGE / PAYLOAD_TOO_SMALL, which the sector treats as input errors and the client
 * can act on); otherwise it is INVALID_ARGUMENT.
 */
export async function* exactly(
  source: AsyncIterable<Uint8Array>,
  expected: number,
  what: string,
  payload = false,
): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.byteLength;
    if (seen > expected) {
      const message = `${what} sent more than the declared ${expected} bytes`;
      throw payload ? new PayloadTooLargeError(message) : new InvalidArgumentError(message);
    }
    yield chunk;
  }
  if (seen < expected) {
    const message = `${what} ended after ${seen} of the declared ${expected} bytes`;
    throw payload ? new PayloadTooSmallError(message) : new InvalidArgumentError(message);
  }
}

export const piecesMethods = {
  /** `Filecoin.SectorAddPieceToAny(payloadSize, {Type:"push",Info:uuid}, {Sector?, PieceSize?}) → AddPieceResult` (admin, as in Lotus's api_storage.go). */
  SectorAddPieceToAny: defineMethod({
    perm: 'admin',
    params: (raw): [payloadSize: number, data: DataRef, opts?: AddPieceOptions] => {
      expectArity(raw, 2, 3);
      const payloadSize = intParam(raw, 0, 'payloadSize');
      const data = pushDataParam(raw, 1);
      const opts = raw[2] === undefined || raw[2] === null ? {} : objectParam(raw, 2, 'opts');
      const Sector = intField(opts, 'Sector', 'opts');
      const PieceSize = intField(opts, 'PieceSize', 'opts');
      return [payloadSize, data, { Sector, PieceSize }];
    },
    run: async ([payloadSize, data, opts = {}], ctx): Promise<AddPieceResult> => {
      const sectors = sectorService(ctx.components.sectors);
      const pieceSize = dealPieceSize({ payloadSize, pieceSize: opts.PieceSize, sectorSize: ctx.components.daemon.sectorSize });
      const taken = await ctx.streams.take(data.Info, ctx.signal);
      try {
        const added = await sectors.addPiece({
          sector: opts.Sector,
          source: exactly(taken.body, payloadSize, `upload stream ${data.Info}`, true),
          payloadSize,
          pieceSize,
          signal: ctx.signal,
        });
        taken.done();
        return addPieceResult(added);
      } catch (err) {
        taken.done(err);
        throw err;
      }
    },
  }),

  /** `Filecoin.SectorsReadPiece(sector, offset, size, {Verify?})` → body of `size` unpadded bytes (admin, streamed). */
  SectorsReadPiece: defineStreamMethod({
    perm: 'admin',
    params: (raw): [number, number, number, ReadPieceOptions?] => {
      expectArity(raw, 3, 4);
      const size = intParam(raw, 2, 'size');
      if (size === 0) throw new InvalidArgumentError('param size must be at least 1 byte');
      const opts = raw[3] === undefined || raw[3] === null ? {} : objectParam(raw, 3, 'opts');
      if (opts.Verify !== undefined && typeof opts.Verify !== 'boolean') {
        throw new InvalidArgumentError(`param opts.Verify must be a boolean (got ${JSON.stringify(opts.Verify)})`);
      }
      return [intParam(raw, 0, 'sector'), intParam(raw, 1, 'offset'), size, opts.Verify === undefined ? {} : { Verify: opts.Verify }];
    },
    run: async ([sector, offset, size, opts = {}], ctx) => {
      const sectors = sectorService(ctx.components.sectors);
      const piece = opts.Verify === false ? undefined : findWholePiece((await sectors.sectorStatus(sector)).pieces, offset, size);
      if (opts.Verify === true && !piece) {
        throw new InvalidArgumentError(
          `sector ${sector}: the range of ${size} bytes at offset ${offset} is not a whole piece, so it cannot be verified (read a piece from its offset, at least its payload size long)`,
        );
      }
      const body = await sectors.readPiece({ sector, offset, size, signal: ctx.signal });
      return exactly(piece ? verifyPieceStream(body, piece, { sector, offset }) : body, size, `sector ${sector} read`);
    },
  }),
};
