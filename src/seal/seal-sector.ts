/**
 * One sector sealed end to end in a directory, in the spirit of `lotus-bench simple`: AddPiece
 * (the given piece files, aligned with zero padding, then filler pieces up to the sector size;
 * a committed-capacity sector of zeros when no piece is given), PC1, PC2, C1, C2, then
 * verification of the proof. Each phase is timed. Defaults follow lotus-bench (miner t01000,
 * sector 1, ticket of 32 zero bytes, seed 1, 2, …, 31, 255), so the same inputs give the same
 * CommD and CommR as a lotus-bench run.
 *
 * The directory gets Lotus's layout: `unsealed/s-t0<miner>-<n>`, `sealed/s-t0<miner>-<n>`,
 * `cache/s-t0<miner>-<n>/`.
 */
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, InternalError, InvalidArgumentError } from '../errors.js';
import { fillerPieces } from '../piece/alignment.js';
import { addPiece, addPieceWithPadding } from '../piece/add-piece.js';
import { computeCommD } from '../piece/unsealed-cid.js';
import type { TaskContext, TaskProgress } from '../lifecycle/task-context.js';
import { type RegisteredSealProof, sealProofForSectorSize } from '../sector/proofs.js';
import { sectorId } from '../sector/sector-id.js';
import { paddedSizeForPayload } from '../sector/sizes.js';
import { sectorFilePath } from '../sector/layout.js';
import { sealCommit1 } from './c1.js';
import { type SnarkProver, sealCommit2, vanillaBundleProver } from './c2.js';
import { sealPreCommit1 } from './pc1.js';
import { sealPreCommit2 } from './pc2.js';
import { verifySealDetailed } from './verify.js';

/** The phases of a seal, in order. */
export const SEAL_PHASES = ['addPiece', 'pc1', 'pc2', 'c1', 'c2', 'verify'] as const;
export type SealPhase = (typeof SEAL_PHASES)[number];

/** lotus-bench's interactive seed: bytes 1..31 then 255. */
export const LOTUS_BENCH_SEED = Uint8Array.from([...Array.from({ length: 31 }, (_, i) => i + 1), 255]);

/** Options of {@link sealSector}. */
export interface SealSectorOptions {
  /** 2 KiB, 8 MiB, 512 MiB (or any registered V1_1 size). */
  sectorSize: number;
  /** Working directory (Lotus layout is created inside). */
  dir: string;
  /** Payload files, one piece each, in order. @default [] (a CC sector) */
  pieces?: readonly string[];
  /** @default 1000 */
  minerId?: number;
  /** @default 1 */
  sectorNumber?: number;
  /** @default 32 zero bytes */
  ticket?: Uint8Array;
  /** @default LOTUS_BENCH_SEED */
  seed?: Uint8Array;
  /** Parent cache directory. @default PC1's default */
  parentCacheDir?: string;
  /** C2 prover. @default vanillaBundleProver */
  prover?: SnarkProver;
  /** Progress of the running phase (phase names as reported by each step). */
  onProgress?: (p: TaskProgress) => void;
  /** Called when a phase starts and when it ends (with its duration). */
  onPhase?: (event: { phase: SealPhase; state: 'start' | 'done'; ms?: number }) => void;
  signal?: AbortSignal;
}

/** A piece as placed in the sector. */
export interface SealedPiece {
  pieceCid: string;
  paddedOffset: number;
  paddedSize: number;
  /** Payload bytes, or 0 for a filler piece. */
  payloadSize: number;
  file?: string;
}

/** Result of {@link sealSector}. */
export interface SealSectorResult {
  sealProof: RegisteredSealProof;
  proofName: string;
  minerId: number;
  sectorNumber: number;
  commD: string;
  commR: string;
  pieces: SealedPiece[];
  /** Milliseconds per phase. */
  times: Record<SealPhase, number>;
  /** The C2 proof and who made it. */
  proof: Uint8Array;
  prover: { name: string; succinct: boolean; acceptedOnChain: boolean };
  verified: boolean;
  paths: { unsealed: string; sealed: string; cache: string };
  /** Peak RSS of this process at the end, in MiB. */
  peakRssMiB: number;
}

function bytes32(v: Uint8Array, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${what} must be 32 bytes`);
  return v;
}

/** Seals one sector end to end and verifies the proof. */
export async function sealSector(options: SealSectorOptions): Promise<SealSectorResult> {
  const info = sealProofForSectorSize(options.sectorSize);
  const id = sectorId(options.minerId ?? 1000, options.sectorNumber ?? 1);
  const ticket = bytes32(options.ticket ?? new Uint8Array(32), 'ticket');
  const seed = bytes32(options.seed ?? LOTUS_BENCH_SEED, 'seed');
  const prover = options.prover ?? vanillaBundleProver;
  const paths = {
    unsealed: sectorFilePath(options.dir, 'unsealed', id),
    sealed: sectorFilePath(options.dir, 'sealed', id),
    cache: sectorFilePath(options.dir, 'cache', id),
  };
  for (const t of ['unsealed', 'sealed'] as const) await mkdir(join(options.dir, t), { recursive: true });
  await mkdir(paths.cache, { recursive: true });
  const signal = options.signal;
  const ctx: TaskContext = {
    progress: (p) => options.onProgress?.(p),
    get cancelled() {
      return signal?.aborted === true;
    },
    throwIfCancelled() {
      if (signal?.aborted) throw new AbortedError('seal cancelled');
    },
  };
  const times = {} as Record<SealPhase, number>;
  async function phase<T>(name: SealPhase, run: () => Promise<T>): Promise<T> {
    ctx.throwIfCancelled();
    options.onPhase?.({ phase: name, state: 'start' });
    const t0 = performance.now();
    const out = await run();
    times[name] = performance.now() - t0;
    options.onPhase?.({ phase: name, state: 'done', ms: times[name] });
    return out;
  }

  const pieces = await phase('addPiece', async () => {
    const placed: SealedPiece[] = [];
    const comms: { commP: Uint8Array; paddedSize: number }[] = [];
    let offset = 0;
    const files = options.pieces ?? [];
    const totalBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((s, st) => s + st.size, 0);
    let before = 0;
    for (const file of files) {
      const size = (await stat(file)).size;
      const r = await addPieceWithPadding({
        unsealedPath: paths.unsealed,
        sectorSize: info.sectorSize,
        paddedOffset: offset,
        pieceSize: paddedSizeForPayload(size),
        source: createReadStream(file),
        checkCancelled: () => ctx.throwIfCancelled(),
        onProgress: (read) => ctx.progress({ phase: 'addPiece', done: before + read, total: totalBytes, detail: file }),
      });
      for (const x of [...r.fillers, r.piece]) {
        placed.push({
          pieceCid: x.pieceCid.toString(),
          paddedOffset: x.paddedOffset,
          paddedSize: x.paddedSize,
          payloadSize: x === r.piece ? x.payloadSize : 0,
          ...(x === r.piece ? { file } : {}),
        });
        comms.push({ commP: x.commP, paddedSize: x.paddedSize });
      }
      offset = r.end;
      before += size;
    }
    for (const size of fillerPieces(offset, info.sectorSize)) {
      const x = await addPiece({ unsealedPath: paths.unsealed, sectorSize: info.sectorSize, paddedOffset: offset, pieceSize: size });
      placed.push({ pieceCid: x.pieceCid.toString(), paddedOffset: x.paddedOffset, paddedSize: x.paddedSize, payloadSize: 0 });
      comms.push({ commP: x.commP, paddedSize: x.paddedSize });
      offset += size;
    }
    return { placed, comms };
  });

  const pc1 = await phase('pc1', () =>
    sealPreCommit1(
      {
        proof: info.id,
        cacheDir: paths.cache,
        unsealedPath: paths.unsealed,
        minerId: id.miner,
        sectorNumber: id.number,
        ticket,
        pieces: pieces.placed.map((p) => ({ size: p.paddedSize })),
        parentCacheDir: options.parentCacheDir,
      },
      ctx,
    ),
  );
  // the data on disk and the piece commitments must agree (GenerateUnsealedCID vs the file)
  const fromPieces = Buffer.from(computeCommD(info.sectorSize, pieces.comms)).toString('hex');
  if (fromPieces !== pc1.commD) throw new InternalError(`CommD of the pieces (${fromPieces}) differs from the unsealed file's (${pc1.commD})`);
  const pc2 = await phase('pc2', () => sealPreCommit2(pc1, { cacheDir: paths.cache, sealedPath: paths.sealed, unsealedPath: paths.unsealed }, ctx));
  const c1 = await phase('c1', () =>
    sealCommit1(
      {
        sealProof: info.id,
        cacheDir: paths.cache,
        sealedPath: paths.sealed,
        minerId: id.miner,
        sectorNumber: id.number,
        ticket,
        seed,
        commD: pc2.raw.commD,
        commR: pc2.raw.commR,
      },
      ctx,
    ),
  );
  const proof = await phase('c2', () => sealCommit2(c1, { prover }));
  const check = await phase('verify', () =>
    verifySealDetailed({
      sealProof: info.id,
      commR: pc2.raw.commR,
      commD: pc2.raw.commD,
      minerId: id.miner,
      sectorNumber: id.number,
      ticket,
      seed,
      proof,
    }),
  );
  return {
    sealProof: info.id,
    proofName: info.name,
    minerId: id.miner,
    sectorNumber: id.number,
    commD: pc2.commD.toString(),
    commR: pc2.commR.toString(),
    pieces: pieces.placed,
    times,
    proof,
    prover: { name: prover.name, succinct: prover.succinct, acceptedOnChain: prover.acceptedOnChain },
    verified: check.ok,
    paths,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}
