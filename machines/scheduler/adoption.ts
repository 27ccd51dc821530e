/**
 * Adoption of a sector record written outside the sector actors (a sector imported from its files
 * by `sectors drift resolve N --import`), pure: why the scheduler refuses to start an actor for it.
 * The record itself was checked when the index wrote it; what only the scheduler knows is which
 * numbers already have an actor.
 */
import type { WireError } from '../../src/errors.js';
import type { SectorRecordDraft } from '../../src/db/sector-store.js';
import { sealProofInfo } from '../../src/sector/proofs.js';
import type { SectorSummary } from '../protocol.js';

/** Why `record` cannot be adopted, if it cannot. */
export function adoptionRefusal(sectors: Readonly<Record<string, SectorSummary>>, miner: number, record: SectorRecordDraft): WireError | undefined {
  if (record.miner !== miner) {
    return { code: 'INVALID_ARGUMENT', message: `sector ${record.number} belongs to miner ${record.miner}, not to this node's miner ${miner}` };
  }
  const existing = sectors[record.number];
  if (existing) return { code: 'SECTOR_EXISTS', message: `sector ${record.number} already has an actor (state ${existing.state})` };
  try {
    sealProofInfo(record.proofType);
  } catch {
    return { code: 'SEAL_PROOF_UNKNOWN', message: `sector ${record.number}: seal proof ${record.proofType} is not one this program knows` };
  }
  return undefined;
}
