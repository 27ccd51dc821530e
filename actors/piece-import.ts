/**
 * `pieces import`: a CAR (v1 or v2) made a deal piece and a shard at once, as Lotus's storage
 * provider hands a deal to sealing and registers its shard eagerly with the deal's CAR as the
 * existing transient (go-fil-markets `HandoffDeal`, `markets/dagstore/wrapper.go` RegisterShard):
 *
 * 1. the upload is written to `<dagstore>/transients/import-<uuid>.partial`;
 * 2. it is scanned with every block checked against its CID and indexed (a bad CAR is refused
 *    here, before any sector or shard sees it: nothing is left behind);
 * 3. the file is added as a deal piece (the scheduler places it in an open sector) with the CAR and
 *    its index handed over: adding a deal piece registers its shard (`SectorService.addPiece`,
 *    `Dagstore.registerDealPiece`), here eagerly with the file as its transient (Available at
 *    once, no unsealing). A piece imported before keeps its shard. A registration that fails
 *    once the piece is in its sector does not fail the import: the shard is owed and registered
 *    lazily later (`Dagstore.registerDealPiece`).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { indexCar } from '../src/car/car-blocks.js';
import { PayloadTooLargeError, PayloadTooSmallError } from '../src/errors.js';
import type { AddedPiece } from '../src/piece/add-piece.js';
import type { SectorService } from './sector-service.js';

export interface ImportedPiece extends AddedPiece {
  /** The payload's root CIDs. */
  roots: string[];
  /** Blocks in the CAR. */
  blocks: number;
}

/** Counts the bytes of `source`, failing unless they are exactly `expected`. */
async function* exactly(source: AsyncIterable<Uint8Array>, expected: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > expected) throw new PayloadTooLargeError(`the CAR is longer than the declared ${expected} bytes`);
    yield chunk;
  }
  if (seen < expected) throw new PayloadTooSmallError(`the CAR ended after ${seen} of the declared ${expected} bytes`);
}

/**
 * Imports a CAR as a deal piece and a shard.
 * @throws CarInvalidError, CarBlockInvalidError (nothing added, nothing registered), and what addPiece throws
 */
export async function importCarPiece(
  deps: { sectors: Pick<SectorService, 'addPiece'>; dir: string },
  req: { source: AsyncIterable<Uint8Array>; payloadSize: number; sector?: number; signal?: AbortSignal },
): Promise<ImportedPiece> {
  const partial = join(deps.dir, 'transients', `import-${randomUUID()}.partial`);
  try {
    await pipeline(Readable.from(exactly(req.source, req.payloadSize)), createWriteStream(partial), req.signal ? { signal: req.signal } : {});
    const { scan, index } = await indexCar(partial, req.signal ? { signal: req.signal } : {});
    const roots = scan.roots.map(String);
    const added = await deps.sectors.addPiece(
      {
        source: createReadStream(partial, { highWaterMark: 1 << 20 }),
        payloadSize: req.payloadSize,
        ...(req.sector !== undefined ? { sector: req.sector } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      },
      { car: partial, index, roots },
    );
    return { ...added, roots, blocks: scan.sections.length };
  } finally {
    // gone when it became the shard's transient
    await rm(partial, { force: true });
  }
}
