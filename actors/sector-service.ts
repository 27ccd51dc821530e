/**
 * SectorService: the promise-returning facade over the actor system that the API, the CLI and
 * embedding programs use. It validates input at the boundary, turns each call into a scheduler
 * command with a correlation id, and settles when the scheduler emits the matching
 * `scheduler.reply`. Byte sources stay here (by request id) and are read by the AddPiece task that
 * names that id (src/worker/tasks/add-piece.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from 'xstate';
import {
  AbortedError,
  CallUnknownError,
  InvalidArgumentError,
  NoWorkerError,
  PayloadTooLargeError,
  PayloadTooSmallError,
  SectorStateInvalidError,
  SectorUnknownError,
  errorFromWire,
} from '../src/errors.js';
import type { AddedPiece, AddPieceRequest } from '../src/piece/add-piece.js';
import { readPiece as readUnsealed } from '../src/piece/read-piece.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { dealPieceSize } from '../src/sector/sizes.js';
import type { LocalStore } from '../src/storage/local-store.js';
import type { PieceProvider } from '../src/storage/piece-provider.js';
import type { Dagstore, ShardHandoff } from './dagstore.js';
import type { LogMarks, SectorLogEntry, SectorRecord, SectorStateName, UnreadableSector } from '../src/db/sector-store.js';
import type { ReplyValue, SchedulerCommand, SchedulerReply } from '../machines/protocol.js';
import type { SchedulerMachine } from '../machines/scheduler.machine.js';
import type { IndexClient } from './index.actor.js';
import type { RequestSource } from '../src/worker/worker-env.js';
import type { LocalWorker } from '../src/worker/local-worker.js';
import type { CallRecord, CallState } from '../src/tasks/calls.js';
import { DEAL_SECTOR_PRIORITY, type Task, type UnpaddedRange } from '../src/tasks/task-types.js';
import { FileType } from '../src/sector/sector-id.js';
import {
  DRIFT_RESOLVE_MODES,
  type DriftReport,
  type DriftResolution,
  type DriftResolveMode,
  type UnrecordedSectorFiles,
} from '../src/storage/drift-report.js';
import { SectorDrift } from './sector-drift.js';
import { type Logger, defaultLogger } from '../src/log/logger.js';

export interface SectorServiceDeps {
  root: Actor<SchedulerMachine>;
  /** Every sector record saved, as the store saves it (absent: {@link SectorService.watch} hears nothing). */
  saved?: { subscribe(listener: (record: SectorRecord) => void): () => void };
  index: IndexClient;
  miner: number;
  sealProof: number;
  localStore: () => LocalStore;
  /** The local worker: an upload is placed only once it has bytes buffered. */
  worker: Pick<LocalWorker, 'waitForUpload'>;
  sources: Map<string, RequestSource>;
  /** Operational log lines (drift resolution). @default defaultLogger() (src/log) */
  log?: Logger;
  /** The local worker as the scheduler knows it. @default runs AddPiece, paths never change */
  localWorker?: {
    /** Whether it runs AddPiece (a client's upload can run nowhere else). */
    runsAddPiece(): boolean;
    /** Re-registers it with the node's storage paths as they are now. */
    pathsChanged(): void;
  };
  /**
   * The node's piece provider, for a read of a sector with no unsealed file on this node: another
   * node's copy, or an unseal through the scheduler (src/storage/piece-provider.ts).
   */
  pieces?: () => Pick<PieceProvider, 'readPiece'>;
  /** The dagstore, when the daemon runs one: every deal piece added becomes its shard. */
  shards?: () => Pick<Dagstore, 'registerDealPiece'> | undefined;
}

/** A sector's status as `sectors status` shows it: the record, its log, and the calls made for it. */
export interface SectorStatus {
  record: SectorRecord;
  log: SectorLogEntry[];
}

/**
 * Yields `source`, failing (so the thread writes nothing) unless it holds exactly `expected` bytes.
 * Each chunk is copied: the port stream transfers buffers to the pool thread, which would detach
 * the caller's own Uint8Arrays.
 */
async function* exactly(source: AsyncIterable<Uint8Array>, expected: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > expected) throw new PayloadTooLargeError(`payload is longer than the declared ${expected} bytes`);
    yield new Uint8Array(chunk); // a copy (Buffer#slice would be a view)
  }
  if (seen < expected) throw new PayloadTooSmallError(`payload ended after ${seen} of the declared ${expected} bytes`);
}

function assertSectorNumber(sector: number): void {
  if (!Number.isSafeInteger(sector) || sector < 0) throw new InvalidArgumentError(`sector ${sector} must be a non-negative integer`);
}

/** The sector operations of a running daemon system. */
export class SectorService {
  readonly #d: SectorServiceDeps;
  readonly #pending = new Map<string, (reply: SchedulerReply) => void>();
  readonly #sub: { unsubscribe(): void };
  readonly #drift: SectorDrift;
  #stopped = false;

  constructor(deps: SectorServiceDeps) {
    this.#d = deps;
    this.#drift = new SectorDrift({
      root: deps.root,
      index: deps.index,
      miner: deps.miner,
      sealProof: deps.sealProof,
      localStore: deps.localStore,
      command: (build: (requestId: string) => SchedulerCommand) => {
        const requestId = randomUUID();
        return this.#request(requestId, () => deps.root.send(build(requestId)));
      },
      log: deps.log ?? defaultLogger(),
    });
    this.#sub = deps.root.on('scheduler.reply', (reply) => {
      const settle = this.#pending.get(reply.requestId);
      if (!settle) return;
      this.#pending.delete(reply.requestId);
      settle(reply);
    });
  }

  /** Sends a command and waits for its reply (registered first: a reply may come synchronously). */
  #request(requestId: string, send: () => void): Promise<ReplyValue> {
    if (this.#stopped) return Promise.reject(new AbortedError('the sector system is stopped'));
    const reply = new Promise<SchedulerReply>((resolve) => this.#pending.set(requestId, resolve));
    send();
    return reply.then((r) => {
      if (!r.ok) throw errorFromWire(r.error);
      return r.value;
    });
  }

  /**
   * Adds a deal piece. Sizes and the fit in the sector are checked before any byte is read; the
   * call resolves once the piece is written, its commP known and the sector record committed.
   * A failure of the source (or an abort) drops the piece and leaves the sector open; other
   * write failures put the sector in AddPieceFailed and reject with the stored error.
   *
   * This is the one path a deal piece takes into a sector (the API's SectorAddPieceToAny and
   * PiecesImport both come here), so it is where the piece becomes a dagstore shard (when the
   * daemon runs a dagstore): lazy, or eager with `handoff` (`pieces import`'s checked CAR).
   */
  async addPiece(req: AddPieceRequest, handoff?: ShardHandoff): Promise<AddedPiece> {
    const sectorSize = sealProofInfo(this.#d.sealProof).sectorSize;
    const { payloadSize } = req;
    const pieceSize = dealPieceSize({ payloadSize, pieceSize: req.pieceSize, sectorSize });
    if (req.sector !== undefined && (!Number.isSafeInteger(req.sector) || req.sector < 0)) {
      throw new InvalidArgumentError(`sector ${req.sector} must be a non-negative integer`);
    }
    if (req.signal?.aborted) throw new AbortedError('addPiece cancelled before it started');
    if (this.#d.localWorker && !this.#d.localWorker.runsAddPiece()) {
      // the bytes are in this process: no other worker can write them (docs/design/scheduler.md §2)
      throw new NoWorkerError('the daemon\'s local worker does not run AP (run --local-tasks), so no worker can take a client\'s upload');
    }

    const requestId = randomUUID();
    const source: RequestSource = { source: exactly(req.source, payloadSize) };
    if (req.signal) source.signal = req.signal;
    if (req.onProgress) source.onProgress = req.onProgress;
    this.#d.sources.set(requestId, source);
    const onAbort = () => this.#d.root.send({ type: 'scheduler.request.cancel', requestId });
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // bytes not yet received must not hold a sealing thread: the piece is placed (and its task
      // queued) only once its upload has data buffered; a silent client fails UPLOAD_STALLED here
      await this.#d.worker.waitForUpload(requestId, req.signal);
      const value = await this.#request(requestId, () =>
        this.#d.root.send({
          type: 'scheduler.addPiece',
          requestId,
          pieceSize,
          payloadSize,
          ...(req.sector !== undefined ? { sector: req.sector } : {}),
        }),
      );
      if (value.kind !== 'piece.added') throw new InvalidArgumentError(`unexpected reply ${value.kind}`);
      // the sector replies only after the index committed the record holding the piece; a failed
      // save came back as a rejection carrying the save's error (and the sector dropped the piece)
      const p = value.piece;
      const added: AddedPiece = {
        sector: value.sector,
        offset: p.paddedOffset - p.paddedOffset / 128,
        paddedOffset: p.paddedOffset,
        pieceCid: p.pieceCid,
        pieceCidV2: p.pieceCidV2 ?? '',
        paddedSize: p.paddedSize,
        payloadSize: p.payloadSize,
      };
      // the piece is in its sector now: the add has succeeded, and a shard that cannot be
      // registered yet is owed by the dagstore (logged, retried), never this call's failure
      await this.#d.shards?.()?.registerDealPiece(added, handoff);
      return added;
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      this.#d.sources.delete(requestId);
    }
  }

  /** Asks a sector to pack (fill with fillers, compute CommD, move to GetTicket): `sectors seal`. */
  async startPacking(sector: number): Promise<void> {
    assertSectorNumber(sector);
    const requestId = randomUUID();
    await this.#request(requestId, () => this.#d.root.send({ type: 'scheduler.startPacking', requestId, sector }));
    // answered once the sector's record holding the request is committed (a kill right after keeps it)
    await this.#d.index.flush();
  }

  /**
   * A committed-capacity sector (Lotus PledgeSector): filled with zero pieces and sealed at once.
   * Refused with NO_SPACE, creating nothing, when no sealing path has room for a sector.
   */
  async pledge(): Promise<number> {
    const sectorSize = sealProofInfo(this.#d.sealProof).sectorSize;
    await this.#d.index.catalog.storageBestAlloc(FileType.unsealed | FileType.sealed | FileType.cache, sectorSize, 'sealing');
    const requestId = randomUUID();
    const value = await this.#request(requestId, () => this.#d.root.send({ type: 'scheduler.pledge', requestId }));
    await this.#d.index.flush();
    if (value.kind !== 'sector.pledged') throw new InvalidArgumentError(`unexpected reply ${value.kind}`);
    return value.sector;
  }

  /** Removes a sector in any state: its running task is aborted, its files removed from every path. */
  async remove(sector: number): Promise<void> {
    assertSectorNumber(sector);
    const requestId = randomUUID();
    await this.#request(requestId, () => this.#d.root.send({ type: 'scheduler.remove', requestId, sector }));
    await this.#d.index.flush();
  }

  /**
   * Stops a queued or running call (`sealing abort`); `callId` may be a unique prefix of the id.
   * Resolves with the full id once the stop is under way (the sector sees the call fail ABORTED).
   */
  async abort(callId: string): Promise<string> {
    const call = await this.findCall(callId);
    const requestId = randomUUID();
    await this.#request(requestId, () => this.#d.root.send({ type: 'scheduler.call.abort', requestId, callId: call.callId }));
    return call.callId;
  }

  /** The call whose id is `callIdOrPrefix` or starts with it. @throws CallUnknownError (none, or several), InvalidArgumentError */
  async findCall(callIdOrPrefix: string): Promise<CallRecord> {
    const call = await this.#d.index.calls.findByPrefix(callIdOrPrefix);
    if (call.sector.miner !== this.#d.miner) throw new CallUnknownError(`call ${call.callId} is not one of miner ${this.#d.miner}`);
    return call;
  }

  /** Calls not yet returned to their sectors: what `sealing jobs` shows. */
  async jobs(): Promise<CallRecord[]> {
    return (await this.#d.index.calls.open()).filter((c) => c.sector.miner === this.#d.miner);
  }

  /**
   * Calls returned to their sectors since `sinceMs` (unix ms), among the newest 1000 returned ones
   * (`sealing jobs --show-ret-done`).
   */
  async returnedSince(sinceMs: number): Promise<CallRecord[]> {
    const recent = await this.#d.index.calls.list({ miner: this.#d.miner, states: ['returned'], limit: 1000 });
    return recent.filter((c) => (c.returnedAt ?? 0) >= sinceMs);
  }

  /** Every call ever made for a sector, newest first (`sealing calls --sector N`). */
  async calls(sector: number, states?: CallState[]): Promise<CallRecord[]> {
    assertSectorNumber(sector);
    return this.#d.index.calls.list({ miner: this.#d.miner, number: sector, ...(states ? { states } : {}) });
  }

  /** Sectors per state (`sectors summary`). */
  async summary(): Promise<Record<string, number>> {
    return this.#d.index.sectors.summary(this.#d.miner);
  }

  /** The sectors in any of `states` (Lotus SectorsListInStates). */
  async listInStates(states: SectorStateName[]): Promise<SectorRecord[]> {
    return this.#d.index.sectors.listInStates(this.#d.miner, states);
  }

  /** A sector's record and its log (`sectors status --log`). @throws SectorUnknownError */
  /** Hears every sector record saved from now on (each state a sector enters); returns the unsubscribe. */
  watch(listener: (record: SectorRecord) => void): () => void {
    return this.#d.saved?.subscribe(listener) ?? (() => {});
  }

  async status(sector: number): Promise<SectorStatus> {
    const record = await this.sectorStatus(sector);
    const log = await this.#d.index.sectors.log(this.#d.miner, sector);
    return { record, log };
  }

  /** A storage path was attached or detached: the local worker is re-registered with the paths it has now. */
  storagePathsChanged(): void {
    this.#d.localWorker?.pathsChanged();
  }

  /**
   * A storage path was attached, or files on one were declared (a worker's path): tells the
   * scheduler the highest sector number on any path, so new sectors are numbered above it, and
   * reports the files on `storageId` that no record knows (logged, and returned for the caller to
   * show); `only` limits the report to those sector numbers (the ones just declared).
   */
  async storageAttached(storageId: string, only?: readonly number[]): Promise<UnrecordedSectorFiles[]> {
    const max = await this.#d.index.catalog.maxSectorNumberOnPaths(this.#d.miner);
    if (max !== undefined) this.#d.root.send({ type: 'scheduler.numbers.seen', max });
    return this.#drift.unrecordedOn(storageId, only);
  }

  /** The drift between the storage paths and the records now (`sectors drift`). */
  async drift(): Promise<DriftReport> {
    return this.#drift.report();
  }

  /**
   * Resolves sector `sector`'s drift (`sectors drift resolve N --import|--lost`): `import` builds
   * its record from the files no record knows, `lost` removes a record whose files are gone.
   * @throws SectorUnknownError, SectorExistsError, FileNotFoundError (files that make no sector),
   *   InvalidArgumentError (no drift of that kind, a bad mode)
   */
  async resolveDrift(sector: number, mode: DriftResolveMode): Promise<DriftResolution> {
    assertSectorNumber(sector);
    if (!DRIFT_RESOLVE_MODES.includes(mode)) throw new InvalidArgumentError(`drift resolution mode ${JSON.stringify(mode)} must be one of ${DRIFT_RESOLVE_MODES.join(', ')}`);
    if (this.#stopped) throw new AbortedError('the sector system is stopped');
    return this.#drift.resolve(sector, mode);
  }

  /** Per sector: when its log began and when it first logged `kind` (`sectors list` seal times). */
  async logMarks(kind: string): Promise<LogMarks[]> {
    return this.#d.index.sectors.logMarks(this.#d.miner, kind);
  }

  /** Sectors whose records cannot be read (damaged, or of an unknown version), with the reason; they are not started. */
  async unreadable(): Promise<UnreadableSector[]> {
    return (await this.#d.index.sectors.listWithErrors(this.#d.miner)).unreadable;
  }

  /** Every sector of this miner, as persisted (the write of the latest change included). */
  async listSectors(): Promise<SectorRecord[]> {
    return this.#d.index.sectors.list(this.#d.miner);
  }

  /** One sector's record. @throws SectorUnknownError */
  async sectorStatus(sector: number): Promise<SectorRecord> {
    assertSectorNumber(sector);
    const r = await this.#d.index.sectors.get(this.#d.miner, sector);
    if (!r) throw new SectorUnknownError(`sector ${sector} does not exist`);
    return r;
  }

  /**
   * The original bytes `[offset, offset + size)` (unpadded) of a sector's unsealed data, streamed.
   * Reads run on the main thread (fr32 unpadding is native and chunked); they take no pool slot.
   * A sector with no unsealed file on this node is read through the piece provider: from another
   * node's unsealed copy (a remote worker's, after it unsealed), else by unsealing the range
   * through the scheduler (Lotus `piece_provider.go` ReadPiece).
   * @throws SectorUnknownError, RangeNotAllocatedError, InvalidArgumentError; without a local
   *   file, the piece provider's errors (an unseal's own, FetchFailedError)
   */
  async readPiece(req: { sector: number; offset: number; size: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> {
    const record = await this.sectorStatus(req.sector);
    const found = await this.#d.localStore().findLocal({ miner: record.miner, number: record.number }, 'unsealed');
    if (!found) {
      const pieces = this.#d.pieces?.();
      if (!pieces) throw new SectorUnknownError(`sector ${req.sector} has no unsealed file on this node`);
      const ref = { id: { miner: record.miner, number: record.number }, proofType: record.proofType };
      return pieces.readPiece(ref, req.offset, req.size, req.signal ? { signal: req.signal } : {});
    }
    const it = readUnsealed({
      unsealedPath: found.path,
      sectorSize: sealProofInfo(record.proofType).sectorSize,
      unpaddedOffset: req.offset,
      size: req.size,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    // pull the first chunk now so a bad range rejects this call rather than the first read
    const first = await it.next();
    return (async function* () {
      try {
        if (first.done) return;
        yield first.value;
        yield* it;
      } finally {
        // a consumer that stops after the first chunk never entered yield*, so close the
        // reader (and its file handle) here; closing a finished generator is a no-op
        await it.return(undefined);
      }
    })();
  }

  /**
   * Decodes an unpadded range (multiples of 127) of a sealed sector back into its unsealed file: an
   * UNS task run through the scheduler on a worker that can (Lotus `manager.go` SectorsUnsealPiece),
   * with the sector's ticket and CommD. Requests for the same range share one call.
   * @throws SectorUnknownError, SectorStateInvalidError (no ticket or CommD: never sealed), the task's error
   */
  async unseal(sector: number, range: UnpaddedRange): Promise<{ callId: string; unsealedBytes: number }> {
    const r = await this.sectorStatus(sector);
    if (!r.ticket || !r.commD) throw new SectorStateInvalidError(`sector ${sector} (${r.state}) has no sealed replica to unseal from: no ${r.ticket ? 'CommD' : 'ticket'}`);
    const task: Task = {
      type: 'UNS',
      sector: { miner: r.miner, number: r.number },
      proofType: r.proofType,
      priority: DEAL_SECTOR_PRIORITY,
      input: { range: { offset: range.offset, size: range.size }, ticket: r.ticket.value, commD: r.commD },
    };
    const requestId = randomUUID();
    const value = await this.#request(requestId, () => this.#d.root.send({ type: 'scheduler.unseal', requestId, task }));
    if (value.kind !== 'unsealed') throw new InvalidArgumentError(`unexpected reply ${value.kind}`);
    return { callId: value.callId, unsealedBytes: value.unsealedBytes };
  }

  /** Rejects every call still waiting (the system is stopping). @internal */
  close(): void {
    this.#stopped = true;
    this.#sub.unsubscribe();
    for (const [id, settle] of this.#pending) {
      this.#pending.delete(id);
      settle({ type: 'scheduler.reply', requestId: id, ok: false, error: { code: 'ABORTED', message: 'the sector system stopped' } });
    }
  }
}
