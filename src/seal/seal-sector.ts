/**
 * Sectors sealed end to end in a directory, in the spirit of `lotus-bench simple`: AddPiece
 * (the given piece files, aligned with zero padding, then filler pieces up to the sector size;
 * a committed-capacity sector of zeros when no piece is given), PC1, PC2, C1, C2, then
 * verification of the proof. Each phase is timed. Defaults follow lotus-bench (miner t01000,
 * sector 1, ticket of 32 zero bytes, seed 1, 2, …, 31, 255), so the same inputs give the same
 * CommD and CommR as a lotus-bench run. Several sectors (consecutive numbers, the same pieces)
 * have their PC1 batched (pc1.ts: up to 8 sectors per thread, the batches spread over the
 * threads given); PC2, C1, C2 and verification then run sector by sector. A run may stop after
 * any phase (`phases`, a prefix of {@link SEAL_PHASES}).
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
import { availableParallelism } from 'node:os';
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
import { commDToCid, commitmentBytes } from './commitment-cid.js';
import { type PreCommit1Input, type PreCommit1Output, sealPreCommit1Batch } from './pc1.js';
import { type Pc1Gather, pc1GatherFromEnv } from './pc1-gather.js';
import { type PreCommit2Paths, sealPreCommit2 } from './pc2.js';
import { type VerifySealInput, verifySealDetailed } from './verify.js';

/** The phases of a seal, in order. */
export const SEAL_PHASES = ['addPiece', 'pc1', 'pc2', 'c1', 'c2', 'verify'] as const;
export type SealPhase = (typeof SEAL_PHASES)[number];

/** Lotus's short task names of the phases (AP, PC1, …), lower case, as `seal --phases` takes them. */
export const SEAL_PHASE_NAMES: Record<SealPhase, string> = { addPiece: 'ap', pc1: 'pc1', pc2: 'pc2', c1: 'c1', c2: 'c2', verify: 'verify' };

/** Most sectors one PC1 batch labels on one thread. */
export const PC1_BATCH_MAX = 8;

/**
 * Parses `ap,pc1` into phases: they must be a prefix of {@link SEAL_PHASES} (each phase needs
 * the ones before it), so the list is the first phase up to the last one named.
 */
export function parseSealPhases(text: string): SealPhase[] {
  const byName = new Map(SEAL_PHASES.map((p) => [SEAL_PHASE_NAMES[p], p] as const));
  const names = text.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  const phases: SealPhase[] = [];
  for (const n of names) {
    const phase = byName.get(n);
    if (!phase) throw new InvalidArgumentError(`unknown seal phase "${n}": use ${SEAL_PHASES.map((p) => SEAL_PHASE_NAMES[p]).join(', ')}`);
    phases.push(phase);
  }
  const prefix = SEAL_PHASES.slice(0, phases.length);
  if (phases.length === 0 || phases.some((p, i) => p !== prefix[i])) {
    throw new InvalidArgumentError(
      `seal phases must be a prefix of ${SEAL_PHASES.map((p) => SEAL_PHASE_NAMES[p]).join(',')} (each phase needs the ones before it), got "${text}"`,
    );
  }
  return phases;
}

/**
 * How `count` sectors are cut into PC1 batches for `threads` threads: as many batches as there
 * are threads (so every thread labels), more when a batch would exceed {@link PC1_BATCH_MAX};
 * sizes differ by at most one. Returns the sizes.
 */
export function pc1BatchSizes(count: number, threads: number): number[] {
  const batches = Math.max(Math.ceil(count / PC1_BATCH_MAX), Math.min(threads, count));
  return Array.from({ length: batches }, (_, i) => Math.floor(count / batches) + (i < count % batches ? 1 : 0));
}

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
  /** PC1 of 1 to 8 sectors of one size together (a batch of one is a plain PC1). */
  pc1Batch(inputs: PreCommit1Input[], options: SealStepOptions): Promise<PreCommit1Output[]>;
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
    pc1Batch: (inputs) => sealPreCommit1Batch(inputs, ctx),
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

/** Options of {@link sealSectors}. */
export interface SealSectorsOptions {
  /** 2 KiB, 8 MiB, 512 MiB (or any registered V1_1 size). */
  sectorSize: number;
  /** Working directory (Lotus layout is created inside). */
  dir: string;
  /** Payload files, one piece each, in order, added to every sector. @default [] (CC sectors) */
  pieces?: readonly string[];
  /** @default 1000 */
  minerId?: number;
  /** The first sector's number; the others follow. @default 1 */
  sectorNumber?: number;
  /** Sectors to seal. @default 1 */
  count?: number;
  /** The phases to run, a prefix of SEAL_PHASES. @default all */
  phases?: readonly SealPhase[];
  /** Threads PC1 batches spread over (and PC2's native threads). @default every core */
  threads?: number;
  /**
   * How PC1 gathers parents on a second thread per batch (PreCommit1Input.gather). @default
   * `SECTOR_STORAGE_PC1_GATHER` when set, else `'auto'` when `threads` leave a core to spare for
   * every PC1 batch running side by side, else off
   */
  pc1Gather?: Pc1Gather;
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
  /** Progress of the running phase (phase names as reported by each step). */
  onProgress?: (p: TaskProgress) => void;
  /** Called when a phase starts and when it ends (with its duration, for all sectors). */
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

/** One sector of a run: what its phases produced (later fields only when those phases ran). */
export interface SealedSector {
  sectorNumber: number;
  pieces: SealedPiece[];
  paths: { unsealed: string; sealed: string; cache: string };
  /** CommD as a CID, from the pieces (AddPiece) and checked against the file by PC1. */
  commD: string;
  /** After PC2. */
  commR?: string;
  /** After C2: the proof bytes. */
  proof?: Uint8Array;
  /** After verify. */
  verified?: boolean;
}

/** Result of {@link sealSectors}. */
export interface SealSectorsResult {
  sealProof: RegisteredSealProof;
  proofName: string;
  minerId: number;
  /** The phases that ran, in order. */
  phases: SealPhase[];
  /** Milliseconds per phase that ran, for all sectors together (PC1 batched, the others one after another). */
  times: Partial<Record<SealPhase, number>>;
  /** Sizes of the PC1 batches (when PC1 ran). */
  pc1Batches: number[];
  /** How PC1 was to gather parents (when PC1 ran), and whether its first batch did. */
  pc1Gather?: { mode: Pc1Gather; gathered: boolean };
  /** How PC1's first batch found the parent cache ('created', 'verified', 'adopted', 'repaired'). */
  parentCache?: string;
  sectors: SealedSector[];
  prover: { name: string; succinct: boolean; acceptedOnChain: boolean };
  /** Peak RSS of this process at the end, in MiB. */
  peakRssMiB: number;
}

function bytes32(v: Uint8Array, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${what} must be 32 bytes`);
  return v;
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** AddPiece of one sector: the piece files aligned, then filler pieces to the sector size. */
async function addPieces(
  files: readonly string[],
  unsealedPath: string,
  sectorSize: number,
  ctx: TaskContext,
): Promise<{ placed: SealedPiece[]; comms: { commP: Uint8Array; paddedSize: number }[] }> {
  const placed: SealedPiece[] = [];
  const comms: { commP: Uint8Array; paddedSize: number }[] = [];
  let offset = 0;
  const totalBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((s, st) => s + st.size, 0);
  let before = 0;
  for (const file of files) {
    const size = (await stat(file)).size;
    const r = await addPieceWithPadding({
      unsealedPath,
      sectorSize,
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
  for (const size of fillerPieces(offset, sectorSize)) {
    const x = await addPiece({ unsealedPath, sectorSize, paddedOffset: offset, pieceSize: size });
    placed.push({ pieceCid: x.pieceCid.toString(), paddedOffset: x.paddedOffset, paddedSize: x.paddedSize, payloadSize: 0 });
    comms.push({ commP: x.commP, paddedSize: x.paddedSize });
    offset += size;
  }
  return { placed, comms };
}

/** Seals `count` sectors through the phases asked for (all by default) and verifies the proofs. */
export async function sealSectors(options: SealSectorsOptions): Promise<SealSectorsResult> {
  const info = sealProofForSectorSize(options.sectorSize);
  const minerId = options.minerId ?? 1000;
  const first = options.sectorNumber ?? 1;
  const count = positive('count', options.count ?? 1);
  const threads = positive('threads', options.threads ?? availableParallelism());
  const phases = [...(options.phases ?? SEAL_PHASES)];
  if (phases.length === 0 || phases.some((p, i) => p !== SEAL_PHASES[i])) {
    throw new InvalidArgumentError(`phases must be a prefix of ${SEAL_PHASES.join(', ')}`);
  }
  const ticket = bytes32(options.ticket ?? new Uint8Array(32), 'ticket');
  const seed = bytes32(options.seed ?? LOTUS_BENCH_SEED, 'seed');
  const prover = options.prover ?? vanillaBundleProver;
  for (const t of ['unsealed', 'sealed', 'cache'] as const) await mkdir(join(options.dir, t), { recursive: true });
  const sectors = Array.from({ length: count }, (_, i) => {
    const id = sectorId(minerId, first + i);
    return {
      id,
      paths: {
        unsealed: sectorFilePath(options.dir, 'unsealed', id),
        sealed: sectorFilePath(options.dir, 'sealed', id),
        cache: sectorFilePath(options.dir, 'cache', id),
      },
    };
  });
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
  const times: Partial<Record<SealPhase, number>> = {};
  const wanted = new Set(phases);
  async function phase<T>(name: SealPhase, run: () => Promise<T>): Promise<T | undefined> {
    if (!wanted.has(name)) return undefined;
    ctx.throwIfCancelled();
    options.onPhase?.({ phase: name, state: 'start' });
    const t0 = performance.now();
    const out = await run();
    times[name] = performance.now() - t0;
    options.onPhase?.({ phase: name, state: 'done', ms: times[name] });
    return out;
  }
  const sealed: SealedSector[] = [];

  const added = await phase('addPiece', async () => {
    const all = [];
    for (const s of sectors) all.push(await addPieces(options.pieces ?? [], s.paths.unsealed, info.sectorSize, ctx));
    return all;
  });
  for (let i = 0; i < count; i++) {
    const a = added![i]!;
    sealed.push({
      sectorNumber: sectors[i]!.id.number,
      pieces: a.placed,
      paths: sectors[i]!.paths,
      commD: commDToCid(computeCommD(info.sectorSize, a.comms)).toString(),
    });
  }

  const pc1Batches = wanted.has('pc1') ? pc1BatchSizes(count, threads) : [];
  const pc1Gather: Pc1Gather = options.pc1Gather ?? pc1GatherFromEnv() ?? (threads >= 2 * Math.max(1, pc1Batches.length) ? 'auto' : false);
  const pc1 = await phase('pc1', async () => {
    const inputs: PreCommit1Input[] = sectors.map((s, i) => ({
      proof: info.id,
      cacheDir: s.paths.cache,
      unsealedPath: s.paths.unsealed,
      minerId,
      sectorNumber: s.id.number,
      ticket,
      pieces: sealed[i]!.pieces.map((p) => ({ size: p.paddedSize })),
      parentCacheDir: options.parentCacheDir,
      gather: pc1Gather,
    }));
    const batches: PreCommit1Input[][] = [];
    let at = 0;
    for (const size of pc1Batches) {
      batches.push(inputs.slice(at, at + size));
      at += size;
    }
    // the first batch alone builds a missing parent cache, then the rest run side by side
    const [head, ...rest] = batches;
    const outs = [await steps.pc1Batch(head!, taskOptions)];
    outs.push(...(await Promise.all(rest.map((b) => steps.pc1Batch(b, taskOptions)))));
    return outs.flat();
  });
  for (let i = 0; pc1 && i < count; i++) {
    // the data on disk and the piece commitments must agree (GenerateUnsealedCID vs the file)
    const fromPieces = Buffer.from(commitmentBytes(sealed[i]!.commD, 'commD')).toString('hex');
    if (fromPieces !== pc1[i]!.commD) {
      throw new InternalError(`CommD of the pieces (${fromPieces}) differs from the unsealed file's (${pc1[i]!.commD})`);
    }
  }
  await phase('pc2', async () => {
    for (let i = 0; i < count; i++) {
      const s = sectors[i]!;
      const out = await steps.pc2({ pc1: pc1![i]!, paths: { cacheDir: s.paths.cache, sealedPath: s.paths.sealed, unsealedPath: s.paths.unsealed }, threads }, taskOptions);
      sealed[i]!.commR = out.commR;
    }
  });
  const c1 = await phase('c1', async () => {
    const outs: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const s = sectors[i]!;
      outs.push(
        await steps.c1(
          {
            sealProof: info.id,
            cacheDir: s.paths.cache,
            sealedPath: s.paths.sealed,
            minerId,
            sectorNumber: s.id.number,
            ticket,
            seed,
            commD: sealed[i]!.commD,
            commR: sealed[i]!.commR!,
          },
          taskOptions,
        ),
      );
    }
    return outs;
  });
  await phase('c2', async () => {
    for (let i = 0; i < count; i++) {
      // a prover object cannot cross to a pool thread: only the default one runs as a task
      sealed[i]!.proof = prover === vanillaBundleProver ? await steps.c2({ c1: c1![i]! }, taskOptions) : await sealCommit2(c1![i]!, { prover });
    }
  });
  await phase('verify', async () => {
    for (let i = 0; i < count; i++) {
      const s = sealed[i]!;
      const check = await steps.verifySeal(
        { sealProof: info.id, commR: s.commR!, commD: s.commD, minerId, sectorNumber: s.sectorNumber, ticket, seed, proof: s.proof! },
        taskOptions,
      );
      s.verified = check.ok;
    }
  });
  return {
    sealProof: info.id,
    proofName: info.name,
    minerId,
    phases,
    times,
    pc1Batches,
    ...(pc1 ? { parentCache: pc1[0]!.stats.parentCache, pc1Gather: { mode: pc1Gather, gathered: pc1[0]!.stats.gather === true } } : {}),
    sectors: sealed,
    prover: { name: prover.name, succinct: prover.succinct, acceptedOnChain: prover.acceptedOnChain },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}
