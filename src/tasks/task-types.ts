/**
 * The task vocabulary: every unit of work a sector asks the scheduler for and a worker runs,
 * typed once and shared by the sector machines, the scheduler, the call tracker and the workers.
 * Task types use Lotus's short names (`extern/sector-storage/sealtasks/task.go`). Inputs and
 * outputs are small JSON-safe data (commitments as CID strings or hex, proofs as base64): they
 * are persisted in the call tracker and would cross a network to a remote worker. Layer data
 * never travels; a worker finds the sector's files through its storage.
 */
import type { SectorId } from '../sector/sector-id.js';

/** A task type, by Lotus's short name. */
export type TaskType = 'AP' | 'PC1' | 'PC2' | 'C1' | 'C2' | 'FIN' | 'GET' | 'UNS';

/** Every task type, in Lotus's scheduling order (most urgent first). */
export const TASK_TYPES: readonly TaskType[] = ['FIN', 'GET', 'UNS', 'C1', 'C2', 'PC2', 'PC1', 'AP'];

/** Lotus's order values (`sealtasks/task.go`): lower is scheduled earlier; FIN/GET are negative. */
export const TASK_ORDER: Readonly<Record<TaskType, number>> = {
  AP: 6,
  PC1: 5,
  PC2: 4,
  C2: 3,
  C1: 2,
  UNS: 1,
  GET: -1,
  FIN: -2,
};

/** Lotus's wire names (`seal/v0/…`), for the API. */
export const TASK_WIRE_NAMES: Readonly<Record<TaskType, string>> = {
  AP: 'seal/v0/addpiece',
  PC1: 'seal/v0/precommit/1',
  PC2: 'seal/v0/precommit/2',
  C1: 'seal/v0/commit/1',
  C2: 'seal/v0/commit/2',
  FIN: 'seal/v0/finalize',
  GET: 'seal/v0/fetch',
  UNS: 'seal/v0/unseal',
};

/** True for a known task type name. */
export function isTaskType(v: unknown): v is TaskType {
  return typeof v === 'string' && Object.hasOwn(TASK_ORDER, v);
}

/** 32 bytes as 64 lowercase hex digits. */
export type Hex32 = string;

/** Where the bytes of an AddPiece come from. */
export type PieceSource =
  /** A client's upload, held by the facade under this request id (never persisted bytes). */
  | { type: 'request'; requestId: string }
  /** Zeros: alignment padding and packing fillers (Lotus feeds a NullReader). */
  | { type: 'zeros' };

/** PC1's result without what only one machine knows (paths, timings): what PC2 and the record need. */
export interface Pc1Result {
  replicaId: Hex32;
  /**
   * The ticket PC1 labelled with: with miner, sector number, CommD and the proof's porep id it
   * gives the replica id, which the worker recomputes before PC2 trusts the result.
   */
  ticket: Hex32;
  /** CommD as 64 hex digits (the unsealed file's, checked against the pieces). */
  commDHex: Hex32;
  /** SHA-256 of each layer file, in layer order. */
  layerDigests: Hex32[];
}

/** A C1 output as it travels: its bytes stay in the sector's cache directory (`commit1.cbor`). */
export interface C1Ref {
  sha256: Hex32;
  bytes: number;
}

/** An unpadded byte range of the sector (a kept deal, an unseal request). */
export interface UnpaddedRange {
  offset: number;
  size: number;
}

/** Input of each task type. */
export interface TaskInputs {
  /** Write `pieceSize` padded bytes at `paddedOffset` of the unsealed file, computing commP. */
  AP: { paddedOffset: number; pieceSize: number; payloadSize: number; source: PieceSource };
  /** Label every SDR layer (resumes from the last checkpointed layer). */
  PC1: { ticket: Hex32; pieces: { pieceCid: string; paddedSize: number }[] };
  /** Trees, replica, CommR. */
  PC2: { pc1: Pc1Result };
  /** Vanilla proofs for the seed's challenges. */
  C1: { ticket: Hex32; seed: Hex32; commD: string; commR: string };
  /** The proof over C1's output. */
  C2: { c1: C1Ref };
  /** Drop what proving does not need; free unsealed bytes outside the kept ranges. */
  FIN: { keepUnsealed: UnpaddedRange[] };
  /** Move the sector's files of `types` (FileType bitmask) to a path of `pathType`. */
  GET: { types: number; pathType: 'sealing' | 'storage' };
  /** Unseal a range back into the unsealed file. */
  UNS: { range: UnpaddedRange; ticket: Hex32; commD: string };
}

/** Output of each task type. */
export interface TaskOutputs {
  AP: { pieceCid: string; pieceCidV2: string; paddedSize: number; payloadSize: number };
  PC1: Pc1Result;
  PC2: { commD: string; commR: string };
  C1: C1Ref;
  /** The proof bytes, base64, and what made them (the default prover is not a SNARK). */
  C2: { proof: string; sha256: Hex32; prover: string };
  /** Padded unsealed bytes freed (the whole file's when nothing is kept) and files removed. */
  FIN: { freedBytes: number; removedFiles: number };
  /** Storage path id holding each moved file type, by type name. */
  GET: { storage: Record<string, string> };
  /** Padded bytes decoded into the unsealed file (0 when the range was unsealed already). */
  UNS: { unsealedBytes: number };
}

/** What every task carries besides its input. */
export interface TaskBase {
  sector: SectorId;
  proofType: number;
  /** Higher runs first among tasks of the same kind of urgency (Lotus: deal sectors use 1024). */
  priority: number;
}

/** A task of one type. */
export type TaskOf<T extends TaskType> = TaskBase & { type: T; input: TaskInputs[T] };

/** Any task, discriminated by `type`. */
export type Task = { [T in TaskType]: TaskOf<T> }[TaskType];

/** A task's result, discriminated by `type`. */
export type TaskResult = { [T in TaskType]: { type: T; value: TaskOutputs[T] } }[TaskType];

/** Lotus's DealSectorPriority: every task of a sector holding deals. */
export const DEAL_SECTOR_PRIORITY = 1024;
