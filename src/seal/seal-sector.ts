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
 *
 * The steps after AddPiece ({@link SealSteps}) run in the calling thread by default, or on a
 * sealer pool thread (what the `seal` command does), which keeps the calling thread free to
 * notice a signal and set the task's cancel flag while a long native call runs.
 */
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, InternalError, InvalidArgumentError } from '../errors.js';
import { fillerPieces } from '../piece/alignment.js';
import { addPiece, addPieceWithPadding } from '../piece/add-piece.js';
import { computeCommD } from '../piece/unsealed-cid.js';
import { cancelFlagFor, type TaskContext, type TaskProgress } from '../lifecycle/task-context.js';
import { sectorFilePath } from '../sector/layout.js';
import { type RegisteredSealProof, sealProofForSectorSize } from '../sector/proofs.js';
import { sectorId } from '../sector/sector-id.js';
import { paddedSizeForPayload } from '../sector/sizes.js';
import { type Commit1Input, sealCommit1 } from './c1.js';
import { type SnarkProver, sealCommit2, type VerifyResult, vanillaBundleProver } from './c2.js';
import { commitmentBytes } from './commitment-cid.js';
import { type PreCommit1Input, type PreCommit1Output, sealPreCommit1 } from './pc1.js';
import { type PreCommit2Paths, sealPreCommit2 } from './pc2.js';
import { type VerifySealInput, verifySealDetailed } from './verify.js';

/** The phases of a seal, in order. */
export const SEAL_PHASES = ['addPiece', 'pc1', 'pc2', 'c1', 'c2', 'verify'] as const;
export type SealPhase = (typeof SEAL_PHASES)[number];

/** lotus-bench's interactive seed: bytes 1..31 then 255. */
export const LOTUS_BENCH_SEED = Uint8Array.from([...Array.from({ length: 31 }, (_, i) => i + 1), 255]);

/** How a step is run: cancelled by `signal`, reporting progress to `onProgress`. */
export interface SealStepOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: TaskProgress) => void) | undefined;
}

/**
 * The steps of a seal after AddPiece, with plain structured-cloneable inputs and outputs (as
 * the pool's task handlers of the same names take them), so that they can run in this thread
 * ({@link inThreadSealSteps}) or on a pool thread (`sealStepsOnPool` in src/pool).
 */
export interface SealSteps {
  pc1(input: PreCommit1Input, options: SealStepOptions): Promise<PreCommit1Output>;
  /** Resolves to the commitments as CID strings. */
  pc2(
    input: { pc1: PreCommit1Output; paths: PreCommit2Paths; threads?: number | undefined },
    options: SealStepOptions,
  ): Promise<{ commD: string; commR: string }>;
  c1(input: Commit1Input, options: SealStepOptions): Promise<Uint8Array>;
  /** C2 with the default prover (the vanilla proof bundle). */
  c2(input: { c1: Uint8Array }, options: SealStepOptions): Promise<Uint8Array>;
  verifySeal(input: VerifySealInput, options: SealStepOptions): Promise<VerifyResult>;
}

/** The steps in the calling thread, all with `ctx` (progress and cancellation). */
export function inThreadSealSteps(ctx: TaskContext): SealSteps {
  return {
    pc1: (input) => sealPreCommit1(input, ctx),
    pc2: async ({ pc1, paths, threads }) => {
      const out = await sealPreCommit2(pc1, paths, ctx, { threads });
      return { commD: out.commD.toString(), commR: out.commR.toString() };
    },
    c1: (input) => sealCommit1(input, ctx),
    c2: async ({ c1 }) => {
      ctx.throwIfCancelled();
      return sealCommit2(c1);
    },
    verifySeal: async (input) => verifySealDetailed(input),
  };
}

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
  /** Where PC1, PC2, C1, C2 (default prover) and verification run. @default this thread */
  steps?: SealSteps;
  /** Native threads of PC2's Poseidon work. @default every core */
  pc2Threads?: number;
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
    cancelFlag: cancelFlagFor(signal),
  };
  const steps = options.steps ?? inThreadSealSteps(ctx);
  const taskOptions = { signal, onProgress: options.onProgress };
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
    steps.pc1(
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
      taskOptions,
    ),
  );
  // the data on disk and the piece commitments must agree (GenerateUnsealedCID vs the file)
  const fromPieces = Buffer.from(computeCommD(info.sectorSize, pieces.comms)).toString('hex');
  if (fromPieces !== pc1.commD) throw new InternalError(`CommD of the pieces (${fromPieces}) differs from the unsealed file's (${pc1.commD})`);
  const pc2 = await phase('pc2', () =>
    steps.pc2(
      { pc1, paths: { cacheDir: paths.cache, sealedPath: paths.sealed, unsealedPath: paths.unsealed }, threads: options.pc2Threads },
      taskOptions,
    ),
  );
  const commD = commitmentBytes(pc2.commD, 'commD');
  const commR = commitmentBytes(pc2.commR, 'commR');
  const c1 = await phase('c1', () =>
    steps.c1(
      {
        sealProof: info.id,
        cacheDir: paths.cache,
        sealedPath: paths.sealed,
        minerId: id.miner,
        sectorNumber: id.number,
        ticket,
        seed,
        commD,
        commR,
      },
      taskOptions,
    ),
  );
  // a prover object cannot cross to a pool thread: only the default one runs as a task
  const proof = await phase('c2', () => (prover === vanillaBundleProver ? steps.c2({ c1 }, taskOptions) : sealCommit2(c1, { prover })));
  const check = await phase('verify', () =>
    steps.verifySeal(
      { sealProof: info.id, commR, commD, minerId: id.miner, sectorNumber: id.number, ticket, seed, proof },
      taskOptions,
    ),
  );
  return {
    sealProof: info.id,
    proofName: info.name,
    minerId: id.miner,
    sectorNumber: id.number,
    commD: pc2.commD,
    commR: pc2.commR,
    pieces: pieces.placed,
    times,
    proof,
    prover: { name: prover.name, succinct: prover.succinct, acceptedOnChain: prover.acceptedOnChain },
    verified: check.ok,
    paths,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}
