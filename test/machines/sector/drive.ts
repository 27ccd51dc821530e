/**
 * Steps that move a harnessed sector through its phases with plausible fake results, so each
 * test can start where it needs to.
 */
import type { SectorHarness } from './sector-harness.js';

export const TICKET = { value: 'aa'.repeat(32), epoch: 10 };
export const SEED = { value: 'bb'.repeat(32), epoch: 20 };
export const PC1 = { replicaId: '11'.repeat(32), commDHex: '22'.repeat(32), ticket: 'aa'.repeat(32), layerDigests: ['33'.repeat(32), '44'.repeat(32)] };

/** Writes every filler of a packing sector, then lets CommD compute. */
export async function pack(h: SectorHarness): Promise<void> {
  for (let i = 0; i < 64 && h.state() === 'Packing'; i++) {
    const t = h.lastTask();
    if (t.type !== 'AP') break;
    h.finish('AP', { pieceCid: `filler-${t.input.paddedOffset}`, pieceCidV2: '', paddedSize: t.input.pieceSize, payloadSize: 0 });
    await h.flush();
  }
  await h.flush();
}

/** From GetTicket to PreCommit1 (answers the ticket). */
export async function ticket(h: SectorHarness): Promise<void> {
  h.invocation('chainGetTicket').resolve(TICKET);
  await h.flush();
}

export async function pc1(h: SectorHarness): Promise<void> {
  h.finish('PC1', PC1);
  await h.flush();
}

export async function pc2(h: SectorHarness, commD = h.context().commD ?? ''): Promise<void> {
  h.finish('PC2', { commD, commR: 'commR-cid' });
  await h.flush();
}

/** PreCommitting → PreCommitWait → WaitSeed → Committing. */
export async function preCommit(h: SectorHarness): Promise<void> {
  h.invocation('chainSubmitPreCommit').resolve({ message: 'pc-msg' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve({ ok: true, epoch: 12 });
  await h.flush();
  h.invocation('chainWaitSeed').resolve(SEED);
  await h.flush();
}

export async function commitProof(h: SectorHarness): Promise<void> {
  h.finish('C1', { sha256: 'cc'.repeat(32), bytes: 1000 });
  await h.flush();
  h.finish('C2', { proof: Buffer.from('proof').toString('base64'), sha256: 'dd'.repeat(32), prover: 'vanilla' });
  await h.flush();
}

/** SubmitCommit → CommitWait → FinalizeSector. */
export async function commit(h: SectorHarness): Promise<void> {
  h.invocation('chainSubmitCommit').resolve({ message: 'c-msg' });
  await h.flush();
  h.invocation('chainWaitCommit').resolve({ ok: true, epoch: 30 });
  await h.flush();
}

export async function finalize(h: SectorHarness): Promise<void> {
  h.finish('FIN', { freedBytes: 0, removedFiles: 3 });
  await h.flush();
  h.finish('GET', { storage: {} });
  await h.flush();
}

/** A pledged (CC) sector all the way to Proving. */
export async function toProving(h: SectorHarness): Promise<void> {
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  await commit(h);
  await finalize(h);
}
