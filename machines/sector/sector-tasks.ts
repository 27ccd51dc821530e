/**
 * What a sector asks the scheduler to run in each phase, built from its context, and how each
 * result changes the context. Pure: the machine's actions call these.
 */
import { FileType } from '../../src/sector/sector-id.js';
import type { Task, TaskResult, TaskType, UnpaddedRange } from '../../src/tasks/task-types.js';
import { piecesEnd } from '../sector-space.js';
import { priorityOf, type SectorContext } from './sector-context.js';

/** Thrown when a phase is entered without what it needs (a bug, or a record edited by hand). */
export class SectorContextError extends Error {
  override name = 'SectorContextError';
}

function need<T>(value: T | undefined, what: string, c: SectorContext): T {
  if (value === undefined) throw new SectorContextError(`sector ${c.number} in ${c.state} has no ${what}`);
  return value;
}

/** The unpadded ranges of the deal pieces, which finalize keeps unsealed (Lotus AlwaysKeepUnsealedCopy). */
export function keptRanges(c: SectorContext): UnpaddedRange[] {
  return c.pieces
    .filter((p) => !p.filler)
    .map((p) => ({ offset: p.paddedOffset - p.paddedOffset / 128, size: p.paddedSize - p.paddedSize / 128 }));
}

/** The task of `type` for the sector as it is now. */
export function taskFor(c: SectorContext, type: Exclude<TaskType, 'AP' | 'UNS'>): Task {
  const base = { sector: { miner: c.miner, number: c.number }, proofType: c.proofType, priority: priorityOf(c) };
  switch (type) {
    case 'PC1':
      return {
        ...base,
        type,
        input: {
          ticket: need(c.ticket, 'ticket', c).value,
          pieces: c.pieces.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })),
        },
      };
    case 'PC2':
      return { ...base, type, input: { pc1: need(c.pc1, 'PC1 result', c) } };
    case 'C1':
      return {
        ...base,
        type,
        input: {
          ticket: need(c.ticket, 'ticket', c).value,
          seed: need(c.seed, 'seed', c).value,
          commD: need(c.commD, 'CommD', c),
          commR: need(c.commR, 'CommR', c),
        },
      };
    case 'C2':
      return { ...base, type, input: { c1: need(c.c1, 'C1 output', c) } };
    case 'FIN':
      return { ...base, type, input: { keepUnsealed: keptRanges(c) } };
    case 'GET': {
      const types = FileType.sealed | FileType.cache | (keptRanges(c).length > 0 ? FileType.unsealed : 0);
      return { ...base, type, input: { types, pathType: 'storage' } };
    }
    default: {
      const never: never = type;
      throw new SectorContextError(`no task ${String(never)}`);
    }
  }
}

/** The AddPiece task of the first pending step. */
export function addPieceTask(c: SectorContext): Task | undefined {
  const step = c.steps[0];
  if (!step) return undefined;
  return {
    sector: { miner: c.miner, number: c.number },
    proofType: c.proofType,
    priority: priorityOf(c),
    type: 'AP',
    input: { paddedOffset: piecesEnd(c.pieces), pieceSize: step.pieceSize, payloadSize: step.payloadSize, source: step.source },
  };
}

/** Bytes encoded by a base64 string. */
function base64Bytes(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

/** The context fields a sealing task's result sets (AddPiece results are recorded as pieces instead). */
export function applyResult(c: SectorContext, result: TaskResult): Partial<SectorContext> {
  switch (result.type) {
    case 'PC1':
      return { pc1: result.value, counters: { ...c.counters, preCommit2Fails: 0 } };
    case 'PC2':
      return { commR: result.value.commR };
    case 'C1':
      return { c1: result.value };
    case 'C2':
      return { proof: { value: result.value.proof, sha256: result.value.sha256, bytes: base64Bytes(result.value.proof), prover: result.value.prover } };
    case 'FIN':
      // finalize removed C1's output from the cache: the record no longer points at it, which is
      // also how a sector restored in FinalizeSector knows FIN is done (proving.ts)
      return { c1: undefined };
    case 'AP':
    case 'GET':
    case 'UNS':
      return {};
    default: {
      const never: never = result;
      throw new SectorContextError(`no result ${JSON.stringify(never)}`);
    }
  }
}
