/** Test support: seals a small sector (PC1 + PC2) into a temp directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { fr32Pad } from '../../../native/hash.js';
import { type PreCommit1Output, sealPreCommit1 } from '../../../src/seal/pc1.js';
import { type PreCommit2Output, sealPreCommit2 } from '../../../src/seal/pc2.js';

export interface SealedFixture {
  dir: string;
  cacheDir: string;
  sealedPath: string;
  unsealedPath: string;
  parentCacheDir: string;
  sectorSize: number;
  sealProof: number;
  minerId: number;
  sectorNumber: number;
  ticket: Uint8Array;
  /** The unpadded bytes sealed (sector's whole payload). */
  payload: Uint8Array;
  pc1: PreCommit1Output;
  pc2: PreCommit2Output;
  cleanup(): Promise<void>;
}

/** Seals `payload` (unpadded, sectorSize·127/128 bytes; zeros when absent). */
export async function sealFixture(opts: {
  sectorSize: number;
  ticket?: Uint8Array;
  payload?: Uint8Array;
  sectorNumber?: number;
  parentCacheDir?: string;
}): Promise<SealedFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'h4-seal-'));
  try {
    const unpadded = (opts.sectorSize / 128) * 127;
    const payload = opts.payload ?? new Uint8Array(unpadded);
    const unsealedPath = join(dir, 'unsealed');
    const pf = await PartialFile.create(unsealedPath, opts.sectorSize);
    const padded = new Uint8Array(opts.sectorSize);
    fr32Pad(payload, padded);
    await pf.writeAt(padded, 0);
    await pf.markAllocated(0, opts.sectorSize);
    await pf.close();
    const cacheDir = join(dir, 'cache');
    const sealedPath = join(dir, 'sealed');
    const parentCacheDir = opts.parentCacheDir ?? join(tmpdir(), 'h4-test-parents');
    const ticket = opts.ticket ?? Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const sectorNumber = opts.sectorNumber ?? 1;
    const pc1 = await sealPreCommit1({
      sectorSize: opts.sectorSize,
      cacheDir,
      unsealedPath,
      minerId: 1000,
      sectorNumber,
      ticket,
      parentCacheDir,
    });
    const pc2 = await sealPreCommit2(pc1, { cacheDir, sealedPath, unsealedPath });
    return {
      dir,
      cacheDir,
      sealedPath,
      unsealedPath,
      parentCacheDir,
      sectorSize: opts.sectorSize,
      sealProof: pc1.proof,
      minerId: 1000,
      sectorNumber,
      ticket,
      payload,
      pc1,
      pc2,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
