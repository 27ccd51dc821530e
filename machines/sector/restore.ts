/**
 * Where a sector resumes: the one place that maps a persisted state to the state a spawned sector
 * actor enters (dagstore's Start() resetting transient states). `spawn` cannot take a snapshot, so
 * a sector is spawned with its record as input and routed from `restoring` by the transitions
 * below; entering a state re-issues its work, and the call tracker attaches the re-issued task to
 * the call already made for it (same WorkID), so nothing finished runs again.
 *
 * Transient resets: Empty, WaitDeals and AddPiece resume in WaitDeals (an interrupted AddPiece's
 * bytes sit past the last recorded piece and are freed by the next AddPiece); Packing recomputes
 * only its missing fillers. Every other state resumes as itself; a failure state waits only what
 * is left of its cool-down.
 */
import { SECTOR_STATES, type SectorStateName } from '../../src/sector/sector-states.js';

/** Persisted states that resume in a state of another name. */
const RESUME_AS: Partial<Record<SectorStateName, string>> = {
  Empty: 'routing',
  WaitDeals: 'routing',
  AddPiece: 'routing',
};

/** The state a sector restored in `state` enters. */
export function resumeTarget(state: SectorStateName): string {
  return RESUME_AS[state] ?? state;
}

/** The guarded transitions of `restoring`, one per persisted state. */
export function restoreTransitions() {
  const byTarget = new Map<string, SectorStateName[]>();
  for (const s of SECTOR_STATES) byTarget.set(resumeTarget(s), [...(byTarget.get(resumeTarget(s)) ?? []), s]);
  return [...byTarget].map(([target, states]) => ({ guard: { type: 'restoredIn' as const, params: { states } }, target }));
}
