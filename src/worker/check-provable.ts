/**
 * CheckProvable (Lotus `faults.go`): which of a list of sectors could not be proven from this
 * node's files right now, and why. Per sector: a read lock on sealed and cache, the local paths of
 * both, then the file checks (and, with `vanilla`, a Window PoSt vanilla proof of fresh
 * challenges) on a pool thread (src/seal/check-provable.ts).
 *
 * Unlike Lotus, which only tries the lock and reports "can't acquire read lock" at once (and so
 * faults sectors that are merely being moved, lotus#6779), the lock is waited for up to
 * `provableLockWaitMs`; only then is the sector reported.
 */
import { AbortedError } from '../errors.js';
import { FileType, type SectorId, sectorName } from '../sector/sector-id.js';
import type { FaultySector, ProvableSector } from '../seal/check-provable.js';
import { lockSector } from './sector-files.js';
import type { WorkerEnv } from './worker-env.js';

/** A sector to check. */
export interface ProvableRequest {
  id: SectorId;
  proofType: number;
  /** Its CommR (CID string): checked against p_aux, and needed for `vanilla`. */
  commR?: string;
}

/** Options of {@link checkProvable}. */
export interface CheckProvableRequestOptions {
  /** Also prove fresh random challenges from the files (Lotus does with an RGetter). @default false */
  vanilla?: boolean;
  signal?: AbortSignal;
}

/** The sectors of `sectors` that are not provable, with the reason, in input order. */
export async function checkProvable(env: WorkerEnv, sectors: readonly ProvableRequest[], options: CheckProvableRequestOptions = {}): Promise<FaultySector[]> {
  const signal = options.signal ?? new AbortController().signal;
  const bad = new Map<number, FaultySector>();
  const locks: { release(): void }[] = [];
  const checks: { index: number; sector: ProvableSector }[] = [];
  try {
    for (const [index, s] of sectors.entries()) {
      const fault = (reason: string) => bad.set(index, { id: s.id, reason: `${sectorName(s.id)}: ${reason}` });
      // a timer of our own, not AbortSignal.timeout(): that one does not keep the process alive
      const wait = new AbortController();
      const timer = setTimeout(() => wait.abort(), env.provableLockWaitMs);
      try {
        locks.push(await lockSector(env, s.id, FileType.sealed | FileType.cache, FileType.none, AbortSignal.any([signal, wait.signal])));
      } catch (err) {
        if (signal.aborted || !(err instanceof AbortedError)) throw err;
        fault(`can't acquire read lock within ${env.provableLockWaitMs / 1000} s`);
        continue;
      } finally {
        clearTimeout(timer);
      }
      const sealed = await env.localStore.findLocal(s.id, 'sealed');
      const cache = await env.localStore.findLocal(s.id, 'cache');
      if (!sealed || !cache) {
        fault(`cache and/or sealed paths not found, cache "${cache?.path ?? ''}", sealed "${sealed?.path ?? ''}"`);
        continue;
      }
      checks.push({
        index,
        sector: { id: s.id, sealProof: s.proofType, sealedPath: sealed.path, cacheDir: cache.path, ...(s.commR !== undefined ? { commR: s.commR } : {}) },
      });
    }
    if (checks.length > 0) {
      const faulty = await env.pool.run('checkProvable', { sectors: checks.map((c) => c.sector), options: { vanilla: options.vanilla === true } }, { signal });
      for (const f of faulty) {
        const c = checks.find((x) => x.sector.id.miner === f.id.miner && x.sector.id.number === f.id.number);
        if (c) bad.set(c.index, f);
      }
    }
  } finally {
    for (const l of locks) l.release();
  }
  return [...bad.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
}
