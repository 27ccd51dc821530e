/**
 * Drift between the disks and the sector records, on demand (docs/design/sealing-daemon.md §8):
 * `sectors drift` lists it, `sectors drift resolve N --import|--lost` resolves one sector's.
 *
 * - Import: files no record knows become a version 2 record built from what they say
 *   (src/storage/sector-import.ts): an unsealed file alone is a sector in WaitDeals with the
 *   pieces of its allocated runs; a sealed file with its cache directory's `p_aux` is a sector in
 *   Proving with its CommR (and CommD when an unsealed file fills the sector). The record is
 *   written as a new row through the index, with a log entry saying so, and the scheduler starts
 *   its actor (`scheduler.sector.adopt`).
 * - Lost: a record whose files are gone is removed by the ordinary removal (files left are
 *   deleted, the record ends Removed and keeps its number), logging that the operator marked it
 *   lost and why.
 *
 * Resolutions run one at a time, so two imports of one number cannot both pass the checks.
 */
import type { Actor } from 'xstate';
import {
  FileNotFoundError,
  InvalidArgumentError,
  PartialFileCorruptError,
  SectorExistsError,
  SectorRecordInvalidError,
  SectorUnknownError,
  StorageNotFoundError,
  errorFromWire,
  toWireError,
} from '../src/errors.js';
import { type PieceRecord, type SectorRecordDraft, type SectorStateName, zeroCounters } from '../src/db/sector-store.js';
import { FileType, type FileTypeName, fileTypesOf } from '../src/sector/sector-id.js';
import { requiredFileTypes } from '../src/sector/sector-states.js';
import { type DriftReport, type DriftResolution, type DriftResolveMode, driftReport, type UnrecordedSectorFiles } from '../src/storage/drift-report.js';
import type { RecordedSector } from '../src/storage/reconcile.js';
import { type ImportedSector, importSectorFromFiles } from '../src/storage/sector-import.js';
import type { LocalStore } from '../src/storage/local-store.js';
import type { ReplyValue, SchedulerCommand } from '../machines/protocol.js';
import type { SchedulerMachine } from '../machines/scheduler.machine.js';
import type { IndexClient } from './index.actor.js';
import type { Logger } from '../src/log/logger.js';

export interface SectorDriftDeps {
  root: Actor<SchedulerMachine>;
  index: IndexClient;
  miner: number;
  /** The seal proof an imported sector gets (the files do not record it). */
  sealProof: number;
  localStore: () => LocalStore;
  /** Sends a scheduler command built with a fresh request id and resolves with its reply. */
  command: (build: (requestId: string) => SchedulerCommand) => Promise<ReplyValue>;
  log: Logger;
}

/** `its unsealed file is` / `its sealed and cache files are`. */
function filesPhrase(types: readonly string[]): string {
  return `its ${types.join(' and ')} file${types.length > 1 ? 's are' : ' is'}`;
}

/** The drift of one miner's sectors and its resolution. */
export class SectorDrift {
  readonly #d: SectorDriftDeps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: SectorDriftDeps) {
    this.#d = deps;
  }

  /**
   * The drift now: the catalog's files against the records. A sector that has an actor but no
   * record yet (a new sector writing its first piece) is not drift; a record that cannot be read
   * still holds its number and its files.
   */
  async report(): Promise<DriftReport> {
    const { records, unreadable } = await this.#d.index.sectors.listWithErrors(this.#d.miner);
    const known: RecordedSector[] = records.map((r) => ({
      number: r.number,
      state: r.state,
      requires: requiredFileTypes(r.state, r.pieces.length > 0, r.commR !== undefined),
    }));
    const numbers = new Set(known.map((r) => r.number));
    for (const u of unreadable) {
      if (numbers.has(u.number)) continue;
      known.push({ number: u.number, state: u.state, requires: 0 });
      numbers.add(u.number);
    }
    for (const s of Object.values(this.#d.root.getSnapshot().context.sectors)) {
      if (!numbers.has(s.number)) known.push({ number: s.number, state: s.state, requires: 0 });
    }
    const store = this.#d.localStore();
    return driftReport(this.#d.miner, await this.#d.index.catalog.storageList(), known, (id) => store.localRoot(id));
  }

  /**
   * The files on storage `storageId` that no record knows (of the sectors `only`, when given), one
   * log line each: the drift a path brought when it was attached or its files declared. With
   * `only`, sectors that have a record or an actor are checked first, so declaring the file of a
   * known sector costs no comparison of the whole catalog.
   */
  async unrecordedOn(storageId: string, only?: readonly number[]): Promise<UnrecordedSectorFiles[]> {
    if (only && (await this.#allKnown(only))) return [];
    const found = (await this.report()).unrecorded.filter((u) => u.storages.includes(storageId) && (!only || only.includes(u.number)));
    for (const u of found) {
      const types = fileTypesOf(u.types);
      this.#d.log.info(
        `storage ${storageId}: sector ${u.number} has ${types.join(' and ')} file${types.length > 1 ? 's' : ''} but no record: its number is not reused ` +
          `("sectors drift" lists it, "sectors drift resolve ${u.number} --import|--lost" resolves it)`,
      );
    }
    return found;
  }

  /** True when every sector of `numbers` has a record (readable or not) or an actor. */
  async #allKnown(numbers: readonly number[]): Promise<boolean> {
    const actors = this.#d.root.getSnapshot().context.sectors;
    const withActor = new Set(Object.values(actors).map((s) => s.number));
    for (const n of numbers) {
      if (!withActor.has(n) && (await this.#recordState(n)) === undefined) return false;
    }
    return true;
  }

  /** Resolves sector `number`'s drift (one resolution at a time). */
  resolve(number: number, mode: DriftResolveMode): Promise<DriftResolution> {
    const run = this.#queue.then(() => (mode === 'import' ? this.#import(number) : this.#lost(number)));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #import(number: number): Promise<DriftResolution> {
    const u = (await this.report()).unrecorded.find((x) => x.number === number);
    if (!u) {
      const state = await this.#recordState(number);
      if (state !== undefined) {
        throw new SectorExistsError(`sector ${number} has a record (state ${state}): --import is for files no record knows (see "sectors status ${number}")`);
      }
      throw new SectorUnknownError(`no file of sector ${number} is on any storage path: there is nothing to import`);
    }
    const paths = localPaths(u);
    const has = (t: FileTypeName) => (u.types & FileType[t]) !== 0;
    let state: SectorStateName;
    if (has('sealed') && has('cache')) state = 'Proving';
    else if (has('unsealed') && !has('sealed') && !has('cache')) state = 'WaitDeals';
    else throw new FileNotFoundError(`sector ${number} cannot be imported: ${incompleteFiles(u)}`);

    if (paths.unsealed) this.#d.log.info(`sector ${number}: reading its unsealed file ${paths.unsealed} to recompute its pieces' commP`);
    let imported: ImportedSector;
    try {
      imported = await importSectorFromFiles({
        sector: { id: { miner: this.#d.miner, number }, proofType: this.#d.sealProof },
        ...(paths.unsealed ? { unsealedPath: paths.unsealed } : {}),
        ...(state === 'Proving' ? { cacheDir: paths.cache } : {}),
      });
    } catch (err) {
      const wire = toWireError(err);
      throw errorFromWire({ code: wire.code, message: `sector ${number} cannot be imported: ${wire.message}` });
    }
    const { draft, notes } = importedRecord(imported, state, this.#d.sealProof);
    const where = u.files.map((f) => `${f.type} ${f.path} (storage ${f.storage})`).join(', ');
    const message = `imported from its files by "sectors drift resolve ${number} --import": ${where}; ${notes.join('; ')}`;
    await this.#d.index.sectors.save(draft, { create: true, log: [{ kind: 'import', message }] });
    try {
      await this.#d.command((requestId) => ({ type: 'scheduler.sector.adopt', requestId, record: draft }));
    } catch (err) {
      const wire = toWireError(err);
      throw errorFromWire({ code: wire.code, message: `sector ${number}: its record was written but its actor did not start (${wire.message}); a restart starts it` });
    }
    this.#d.log.info(`sector ${number} imported from its files in ${state}: ${draft.pieces.length} pieces${draft.commR ? `, CommR ${draft.commR}` : ''}`);
    return {
      number,
      mode: 'import',
      state,
      pieces: draft.pieces.length,
      ...(draft.commD ? { commD: draft.commD } : {}),
      ...(draft.commR ? { commR: draft.commR } : {}),
      notes,
    };
  }

  async #lost(number: number): Promise<DriftResolution> {
    const report = await this.report();
    const m = report.missing.find((x) => x.number === number);
    if (!m) {
      if (report.unrecorded.some((x) => x.number === number)) {
        throw new InvalidArgumentError(`sector ${number} has files but no record: --lost is for a record whose files are gone; --import builds a record from the files`);
      }
      const state = await this.#recordState(number);
      if (state === undefined) throw new SectorUnknownError(`sector ${number} does not exist: it has no record and no file`);
      throw new InvalidArgumentError(
        `sector ${number} has no drift: its record (state ${state}) has every file it needs; "sectors remove ${number}" removes a sector whose files are there`,
      );
    }
    const reason = `the operator marked the sector lost ("sectors drift resolve ${number} --lost"): ${filesPhrase(m.missing)} on no storage path (state ${m.state})`;
    await this.#d.command((requestId) => ({ type: 'scheduler.remove', requestId, sector: number, reason }));
    this.#d.log.warn(`sector ${number} marked lost by the operator: removing it`);
    return {
      number,
      mode: 'lost',
      state: 'Removing',
      pieces: 0,
      notes: [`${filesPhrase(m.missing)} on no storage path`, `removing: files of the sector left on any path are deleted, the record ends Removed and its number is never reused (see "sectors status ${number}")`],
    };
  }

  /** The state of sector `number`'s record (its row's, when the record cannot be read), if it has one. */
  async #recordState(number: number): Promise<string | undefined> {
    try {
      return (await this.#d.index.sectors.get(this.#d.miner, number))?.state;
    } catch (err) {
      if (err instanceof SectorRecordInvalidError) return 'unreadable';
      throw err;
    }
  }
}

/** The local path of each file type of an unrecorded sector; a type held only by another node is refused. */
function localPaths(u: UnrecordedSectorFiles): Partial<Record<FileTypeName, string>> {
  const out: Partial<Record<FileTypeName, string>> = {};
  for (const f of u.files) if (f.path !== undefined) out[f.type] ??= f.path;
  for (const f of u.files) {
    if (out[f.type] === undefined) {
      throw new StorageNotFoundError(`sector ${u.number}: its ${f.type} file is on storage ${f.storage}, which is not open on this node; import it where the files are`);
    }
  }
  return out;
}

/** Why the files of an unrecorded sector do not make a sector, naming what is missing. */
function incompleteFiles(u: UnrecordedSectorFiles): string {
  const has = (t: FileTypeName) => (u.types & FileType[t]) !== 0;
  if (has('sealed')) return 'it has a sealed file but no cache directory: a sealed sector needs both (its CommR comes from the cache directory\'s p_aux)';
  const found = has('unsealed') ? 'an unsealed file and a cache directory' : 'a cache directory';
  return `it has ${found} but no sealed file: sealing stopped part-way (a sealed sector needs its sealed file and cache directory; an unsealed file alone is imported as a sector waiting for deals)`;
}

/**
 * The record of an imported sector, and what the operator should know about it.
 * @throws PartialFileCorruptError when the unsealed data of a deal sector does not lie side by side from offset 0
 */
export function importedRecord(imported: ImportedSector, state: 'WaitDeals' | 'Proving', proofType: number): { draft: SectorRecordDraft; notes: string[] } {
  const { number } = imported.sector.id;
  const pieces: PieceRecord[] = imported.pieces.map((p) => ({
    pieceCid: p.pieceCid,
    paddedOffset: p.paddedOffset,
    paddedSize: p.paddedSize,
    payloadSize: p.payloadSize,
    filler: p.filler,
  }));
  const notes: string[] = [`seal proof ${proofType} (this node's: the files do not record it)`];
  if (state === 'WaitDeals') {
    // a sector writes its alignment padding as zero pieces, so its data lies side by side from 0
    let end = 0;
    for (const p of pieces) {
      if (p.paddedOffset !== end) {
        throw new PartialFileCorruptError(
          `sector ${number}: its unsealed file has no data at padded bytes [${end}, ${p.paddedOffset}) before more data: a sector's pieces lie side by side from offset 0, so these runs cannot be taken as its pieces`,
        );
      }
      end = p.paddedOffset + p.paddedSize;
    }
  }
  const deals = pieces.filter((p) => !p.filler).length;
  if (pieces.length > 0) {
    notes.push(`${pieces.length} pieces (${deals} deal, ${pieces.length - deals} filler) from the unsealed file's allocated ranges`);
  }
  if (deals > 0) {
    notes.push(
      'pieces are the largest aligned ranges of the data: pieces added side by side in increasing size come back merged under the piece CID of their range',
      "a deal piece's payload size is its capacity (the file does not record payload lengths), so it has no piece CID v2",
    );
  }
  const draft: SectorRecordDraft = {
    v: 2,
    miner: imported.sector.id.miner,
    number,
    proofType,
    state,
    pieces,
    packingRequested: state === 'Proving',
    counters: zeroCounters(),
  };
  if (imported.commD !== undefined) draft.commD = imported.commD;
  if (imported.commR !== undefined) draft.commR = imported.commR;
  if (state === 'Proving') {
    notes.push('CommR from p_aux; CheckProvable checks its files from now on');
    notes.push(imported.commD ? 'CommD from the unsealed file' : 'no CommD: no unsealed file fills the sector');
  } else if (imported.commD !== undefined) {
    notes.push('the pieces fill the sector: it packs and seals at once');
  }
  return { draft, notes };
}
