/**
 * Unsealing (lotus `ffiwrapper` UnsealPiece; rust-fil-proofs `unseal_range`): recover the
 * original padded data of a range from the sealed replica and write it into the sector's
 * unsealed partial file, so ReadPiece can serve it.
 *
 * The key of node v is the last layer's label L_last[v], and a label of the last layer depends on
 * the whole previous layer (expander parents), so — as upstream — the sector's labels are
 * regenerated in full (PC1 into a scratch directory inside the cache directory, removed
 * afterwards), then each missing run is decoded node by node: `data = replica − key mod r`.
 *
 * Fixed Lotus quirk: Lotus positions the writer at the *requested* offset and copies the
 * requested size for every missing run; here each run is written at its own offset with its own
 * length, so already-present bytes are never overwritten with another range's data.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { decodeNodes } from '../../native/poseidon.js';
import { CacheCorruptError, FileNotFoundError, InvalidArgumentError, ProofInvalidError } from '../errors.js';
import { PartialFile, partialFileExists } from '../partial/partial-file.js';
import { normalize, type Range, removeRange } from '../partial/ranges.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type RegisteredSealProof, sealProofInfo } from '../sector/proofs.js';
import { paddedIndex } from '../sector/sizes.js';
import { commitmentBytes } from './commitment-cid.js';
import { sealPreCommit1 } from './pc1.js';

/** Lotus merges missing runs separated by at most this many padded bytes (`mergeGaps`). */
export const UNSEAL_MERGE_GAP = 32 << 20;
const CHUNK = 1 << 20;

/** Inputs of {@link unsealRange}. */
export interface UnsealRangeInput {
  sealProof: number;
  cacheDir: string;
  sealedPath: string;
  /** The unsealed partial file (created when missing). */
  unsealedPath: string;
  minerId: number;
  sectorNumber: number;
  ticket: Uint8Array;
  commD: Uint8Array | CID | string;
  /** Unpadded byte offset (a multiple of 127). */
  offset: number;
  /** Unpadded byte count (a multiple of 127). */
  size: number;
  /** Where the graph's parent cache lives. @default pc1's default */
  parentCacheDir?: string;
}

/** What {@link unsealRange} did. */
export interface UnsealRangeResult {
  /** Padded runs decoded and written (empty when the range was already unsealed). */
  written: Range[];
}

const noContext: TaskContext = { progress() {}, cancelled: false, throwIfCancelled() {} };

/** Missing runs of `[start, end)` given the allocated set, with gaps ≤ `gap` merged (Lotus mergeGaps). */
export function runsToUnseal(allocated: readonly Range[], start: number, end: number, gap = UNSEAL_MERGE_GAP): Range[] {
  let missing: Range[] = [{ start, end }];
  for (const a of allocated) missing = removeRange(missing, a.start, a.end);
  const merged: { start: number; end: number }[] = [];
  for (const r of normalize(missing)) {
    const last = merged[merged.length - 1];
    if (last && r.start - last.end <= gap) last.end = r.end;
    else merged.push({ start: r.start, end: r.end });
  }
  return merged;
}

async function readFully(fh: FileHandle, buf: Uint8Array, pos: number, what: string): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, pos + got);
    if (bytesRead === 0) throw new CacheCorruptError(`${what} ended early at byte ${pos + got}`);
    got += bytesRead;
  }
}

/**
 * Unseals the unpadded range `[offset, offset + size)` into the unsealed partial file and marks
 * it allocated. Only the parts not yet allocated are decoded. Throws ProofInvalidError when the
 * decoded data is not fr32 data (wrong ticket/CommD, or a damaged sealed file).
 */
export async function unsealRange(input: UnsealRangeInput, ctx: TaskContext = noContext): Promise<UnsealRangeResult> {
  const info = sealProofInfo(input.sealProof);
  const start = paddedIndex(input.offset);
  const end = paddedIndex(input.offset + input.size);
  if (input.size <= 0 || end > info.sectorSize) {
    throw new InvalidArgumentError(`range [${input.offset}, +${input.size}) (unpadded) is empty or outside the ${info.name} sector`);
  }
  const commD = commitmentBytes(input.commD, 'commD');
  const pf = (await partialFileExists(input.unsealedPath))
    ? await PartialFile.open(input.unsealedPath, info.sectorSize)
    : await PartialFile.create(input.unsealedPath, info.sectorSize);
  const scratch = join(input.cacheDir, `unseal-${randomBytes(6).toString('hex')}`);
  let sealed: FileHandle | undefined;
  let key: FileHandle | undefined;
  try {
    const runs = runsToUnseal(pf.allocated(), start, end);
    if (runs.length === 0) return { written: [] };
    sealed = await open(input.sealedPath, 'r').catch((err: Error) => {
      throw new FileNotFoundError(`sealed file ${input.sealedPath} cannot be opened: ${err.message}`, { cause: err });
    });
    const pc1 = await sealPreCommit1(
      {
        proof: info.id as RegisteredSealProof,
        cacheDir: scratch,
        commD,
        minerId: input.minerId,
        sectorNumber: input.sectorNumber,
        ticket: input.ticket,
        parentCacheDir: input.parentCacheDir,
      },
      {
        progress: (p) => ctx.progress({ ...p, phase: 'unseal-labels' }),
        get cancelled() {
          return ctx.cancelled;
        },
        throwIfCancelled: () => ctx.throwIfCancelled(),
      },
    );
    key = await open(join(scratch, pc1.layerFiles[pc1.layerFiles.length - 1]!), 'r');
    const total = runs.reduce((s, r) => s + r.end - r.start, 0);
    let done = 0;
    for (const run of runs) {
      for (let pos = run.start; pos < run.end; pos += CHUNK) {
        ctx.throwIfCancelled();
        const len = Math.min(CHUNK, run.end - pos);
        const replica = new Uint8Array(len);
        const keys = new Uint8Array(len);
        await readFully(sealed, replica, pos, `sealed file ${input.sealedPath}`);
        await readFully(key, keys, pos, 'regenerated last layer');
        decodeNodes(replica, keys, replica);
        // fr32 data has the two top bits of every node clear; anything else means wrong inputs
        for (let i = 31; i < len; i += 32) {
          if ((replica[i]! & 0xc0) !== 0) {
            throw new ProofInvalidError(
              `unsealing sector ${input.sectorNumber} at padded byte ${pos + i - 31} gave non-fr32 data: wrong ticket or CommD, or a damaged sealed file`,
            );
          }
        }
        await pf.writeAt(replica, pos);
        done += len;
        ctx.progress({ phase: 'unseal', done, total });
      }
      await pf.sync();
      await pf.markAllocated(run.start, run.end - run.start);
    }
    return { written: runs };
  } finally {
    await key?.close();
    await sealed?.close();
    await pf.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
