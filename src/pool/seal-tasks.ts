/**
 * Pool handlers of the seal pipeline after PC1: PC2, C1, C2, seal verification, unseal,
 * finalize, PoSt and CheckProvable. They run on sealer pool threads; inputs and outputs are
 * plain structured-cloneable data, so commitments travel as CID strings (or bytes) and proofs as
 * bytes. Only the default C2 prover is reachable through the pool (a prover object cannot cross
 * the thread boundary); a Groth16 prover would be selected here by name.
 */
import type { Handler } from './handlers.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type Commit1Input, sealCommit1 } from '../seal/c1.js';
import { sealCommit2, type VerifyResult } from '../seal/c2.js';
import { type CheckProvableOptions, checkProvable, type FaultySector, type ProvableSector } from '../seal/check-provable.js';
import { type FinalizeInput, type FinalizeResult, finalizeSector } from '../seal/finalize.js';
import type { PreCommit1Output } from '../seal/pc1.js';
import { type PreCommit2Paths, sealPreCommit2 } from '../seal/pc2.js';
import {
  type GeneratePoStInput,
  generateWindowPoSt,
  generateWinningPoSt,
  type VerifyPoStInput,
  verifyPoStDetailed,
  type WindowPoStResult,
} from '../seal/post.js';
import { type UnsealRangeInput, type UnsealRangeResult, unsealRange } from '../seal/unseal.js';
import { type VerifySealInput, verifySealDetailed } from '../seal/verify.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** PC2 result as it crosses threads. */
export interface Pc2TaskOutput {
  commD: string;
  commR: string;
  commC: string;
  commRLast: string;
}

export const sealHandlers = {
  /**
   * SealPreCommit2: trees, replica, comm_r. Progress phase 'pc2' in nodes. `threads` (default:
   * every core, as Lotus's PC2 MaxParallelism −1) is how many native threads this pool thread's
   * Poseidon calls fan out to while it blocks.
   */
  async pc2(
    input: { pc1: PreCommit1Output; paths: PreCommit2Paths; chunkNodes?: number; threads?: number },
    ctx: TaskContext,
  ): Promise<Pc2TaskOutput> {
    const out = await sealPreCommit2(input.pc1, input.paths, ctx, { chunkNodes: input.chunkNodes, threads: input.threads });
    return {
      commD: out.commD.toString(),
      commR: out.commR.toString(),
      commC: toHex(out.raw.commC),
      commRLast: toHex(out.raw.commRLast),
    };
  },
  /** SealCommit1: the C1 output (CBOR bytes). */
  async c1(input: Commit1Input, ctx: TaskContext): Promise<Uint8Array> {
    return sealCommit1(input, ctx);
  },
  /** SealCommit2 with the default prover (vanilla proof bundle — not accepted on chain). */
  async c2(input: { c1: Uint8Array }, ctx: TaskContext): Promise<Uint8Array> {
    ctx.throwIfCancelled();
    return sealCommit2(input.c1);
  },
  async verifySeal(input: VerifySealInput, _ctx: TaskContext): Promise<VerifyResult> {
    return verifySealDetailed(input);
  },
  /** Unseal a range into the unsealed file. Progress phases 'unseal-labels' then 'unseal'. */
  async unseal(input: UnsealRangeInput, ctx: TaskContext): Promise<UnsealRangeResult> {
    return unsealRange(input, ctx);
  },
  async finalize(input: FinalizeInput, _ctx: TaskContext): Promise<FinalizeResult> {
    return finalizeSector(input);
  },
  async winningPost(input: GeneratePoStInput, _ctx: TaskContext): Promise<Uint8Array> {
    return generateWinningPoSt(input);
  },
  async windowPost(input: GeneratePoStInput, _ctx: TaskContext): Promise<WindowPoStResult> {
    return generateWindowPoSt(input);
  },
  async verifyPost(input: VerifyPoStInput, _ctx: TaskContext): Promise<VerifyResult> {
    return verifyPoStDetailed(input);
  },
  async checkProvable(input: { sectors: ProvableSector[]; options?: CheckProvableOptions }, _ctx: TaskContext): Promise<FaultySector[]> {
    return checkProvable(input.sectors, input.options);
  },
} satisfies Record<string, Handler>;
