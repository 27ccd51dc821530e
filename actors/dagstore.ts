/**
 * The dagstore of a daemon (Lotus `markets/dagstore/wrapper.go` over dagstore v0.4.2): the
 * registry root actor and its shard actors (machines/dagstore/) bound to the world, and the
 * promise-returning facade the API, the CLI and retrieval use.
 *
 * - A shard is keyed by its piece CID and mounted as `lotus://<piece CID>` (`mount.go`): its
 *   payload is fetched through the piece provider into `<dir>/transients/<key>.complete` (via
 *   `.partial`), from an unsealed copy when one has it, else by unsealing (`miner_api.go`
 *   FetchUnsealedPiece: first pass without unsealing, second pass unsealing).
 * - Its index is `<dir>/index/<key>.full.idx` (CARv2 MultihashIndexSorted, src/car/car-index.ts);
 *   one that is missing or corrupt is rebuilt from the payload.
 * - Records are saved through the index actor (src/db/shard-store.ts) at every state a shard
 *   enters; restored at start with transient states reset.
 * - An acquired shard is a read-only blockstore whose `close()` releases it (`blockstore.go`).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { exportDag } from '../src/car/car-export.js';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CID } from 'multiformats/cid';
import { type Actor, type ActorOptions, createActor, fromPromise } from 'xstate';
import { CarBlocks, loadOrBuildIndex } from '../src/car/car-blocks.js';
import { MultihashIndexSorted } from '../src/car/car-index.js';
import type { ShardRecord, ShardStateName } from '../src/db/shard-store.js';
import { AbortedError, BlockNotFoundError, FetchFailedError, IndexCorruptError, InvalidArgumentError, PieceCidInvalidError, SectorStorageError, ShardExistsError, ShardStateInvalidError, ShardUnknownError, errorFromWire } from '../src/errors.js';
import { writeFileDurable } from '../src/fs/durable.js';
import { FR32_SHA256_TRUNC254_PADBINTREE, isPieceCid, parsePieceCid, pieceCidV1, RAW_CODEC } from '../src/piece/piece-cid.js';
import { defaultLogger, type Logger } from '../src/log/logger.js';
import type { PieceProvider, PieceReader } from '../src/storage/piece-provider.js';
import type { SectorRef } from '../src/sector/sector-id.js';
import type { ErrorCode } from '../src/errors.js';
import { type RegistryEvent, registryMachine } from '../machines/dagstore/registry.machine.js';
import { type ShardEvent, type ShardInput, type ShardReply, shardMachine } from '../machines/dagstore/shard.machine.js';
import type { IndexClient } from './index.actor.js';
import { type ImportedPiece, importCarPiece } from './piece-import.js';
import type { SectorService } from './sector-service.js';

export interface DagstoreOptions {
  index: IndexClient;
  pieces: PieceProvider;
  /** Miner whose sectors hold the pieces. */
  miner: number;
  /** The dagstore directory (`<repo>/dagstore`): `transients/` and `index/`. */
  dir: string;
  /** @default 60000 */
  gcIntervalMs?: number;
  clock?: ActorOptions<typeof registryMachine>['clock'];
  log?: Logger;
  /** Adds a deal piece (the sector service's, which registers its shard), for `pieces import`. */
  addPiece?: Pick<SectorService, 'addPiece'>['addPiece'];
}

/** A shard as `dagstore list-shards` shows it (Lotus DagstoreShardInfo). */
export interface ShardInfo {
  Key: string;
  State: ShardStateName;
  Error: string;
}

/**
 * What `pieces import` hands over with its deal piece: the checked CAR and its index, which become
 * the shard's transient and index (Lotus's `ExistingTransient`), and the payload's roots.
 */
export interface ShardHandoff {
  car: string;
  index: MultihashIndexSorted;
  roots: string[];
}

/** A piece's payload, read by range (`Dagstore.openPiece`). */
export interface PieceRanges {
  /** Payload bytes. */
  readonly size: number;
  /** The bytes `[start, start+length)`, read from that offset on. */
  read(start: number, length: number, options?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
}

/** An acquired shard: a read-only blockstore over its payload; `close()` releases the shard. */
export interface ShardAccessor {
  readonly key: string;
  readonly blocks: CarBlocks;
  /** The local copy of the payload (the piece's bytes: a CAR). */
  readonly transient: string;
  close(): Promise<void>;
}

const NAMES: Record<string, ShardStateName> = {
  restore: 'ShardStateNew',
  new: 'ShardStateNew',
  initializing: 'ShardStateInitializing',
  available: 'ShardStateAvailable',
  serving: 'ShardStateServing',
  recovering: 'ShardStateRecovering',
  errored: 'ShardStateErrored',
};

const MIGRATION_MARK = 'shard-registration-complete';

/** Passes `source` through and releases the shard when it ends or is abandoned. */
async function* released(source: AsyncIterable<Uint8Array>, acc: ShardAccessor): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } finally {
    await acc.close();
  }
}

export const mountUrl = (pieceCid: string) => `lotus://${pieceCid}`;

export class Dagstore {
  readonly #o: DagstoreOptions;
  readonly #log: Logger;
  #root!: Actor<typeof registryMachine>;
  readonly #waiting = new Map<string, (r: ShardReply) => void>();
  readonly #fetching = new Map<string, Promise<string>>();
  readonly #indexes = new Map<string, MultihashIndexSorted>();
  /** Aborted by `stop()`: every mount, fetch and index build in flight stops writing. */
  readonly #stopping = new AbortController();
  /** Mounts, fetches and index builds in flight, which `stop()` waits for. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Deal pieces in a sector whose shard registration failed: registered on the next GC tick. */
  readonly #owed = new Map<string, { sector: number; roots?: string[] }>();
  #retrying = false;

  private constructor(o: DagstoreOptions) {
    this.#o = o;
    this.#log = o.log ?? defaultLogger().child({ component: 'dagstore' });
    mkdirSync(join(o.dir, 'transients'), { recursive: true });
    mkdirSync(join(o.dir, 'index'), { recursive: true });
  }

  /** Loads every shard record and starts the registry (transient states reset). */
  static async start(o: DagstoreOptions): Promise<Dagstore> {
    const d = new Dagstore(o);
    const records = await o.index.shards.list();
    d.#root = createActor(d.#machine(), {
      input: { shards: records.map((r) => d.#inputOf(r)), ...(o.gcIntervalMs !== undefined ? { gcIntervalMs: o.gcIntervalMs } : {}) },
      ...(o.clock ? { clock: o.clock } : {}),
    });
    d.#root.subscribe({ error: (err) => d.#log.error(`dagstore registry failed: ${(err as Error)?.stack ?? err}`) });
    d.#root.start();
    for (const ref of Object.values(d.#root.getSnapshot().context.shards)) d.#listen(ref);
    return d;
  }

  indexPath(key: string): string {
    return join(this.#o.dir, 'index', `${key}.full.idx`);
  }

  transientPath(key: string): string {
    return join(this.#o.dir, 'transients', `transient-${key}.complete`);
  }

  #inputOf(r: ShardRecord): ShardInput {
    return { key: r.key, lazy: r.lazy, restored: r.state, ...(r.error !== undefined ? { error: r.error } : {}), indexExists: existsSync(this.indexPath(r.key)) };
  }

  #machine() {
    const index = this.#o.index;
    const log = this.#log;
    return registryMachine.provide({
      actions: {
        retryRegistrations: () => {
          this.retryRegistrations().catch((err) => log.error(`dagstore: retrying shard registrations failed: ${(err as Error).message}`));
        },
      },
      actors: {
        shard: shardMachine.provide({
          actions: {
            persist: (_, p) => {
              index.shards.save(p.key, { state: p.state, ...(p.error !== undefined ? { error: p.error } : {}) }).catch((err) => log.error(`shard ${p.key}: saving ${p.state} failed: ${(err as Error).message}`));
            },
            dropTransient: (_, p) => {
              const path = this.transientPath(p.key);
              rmSync(path, { force: true });
              index.shards.setTransient(p.key, null).catch(() => {});
            },
            dropIndex: (_, p) => {
              this.#indexes.delete(p.key);
              rmSync(this.indexPath(p.key), { force: true });
            },
          },
          actors: {
            initialize: fromPromise<void, { key: string }>(async ({ input }) => this.#track(() => this.#initialize(input.key))),
          },
        }),
      },
    });
  }

  /**
   * Runs work that writes (a mount, a fetch, an index build) so that `stop()` waits for it; refused
   * ABORTED once the dagstore is stopping.
   */
  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#stopping.signal.aborted) return Promise.reject(new AbortedError('the dagstore is stopped'));
    const running = work();
    this.#inflight.add(running);
    const forget = () => this.#inflight.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Throws ABORTED once the dagstore is stopping (checked before each write). */
  #throwIfStopping(what: string): void {
    if (this.#stopping.signal.aborted) throw new AbortedError(`${what}: the dagstore stopped`);
  }

  /** Lotus Initialize: an index that parses is enough; otherwise fetch the payload and index it. */
  async #initialize(key: string): Promise<void> {
    try {
      this.#indexes.set(key, MultihashIndexSorted.unmarshal(await readFile(this.indexPath(key)), this.indexPath(key)));
      return;
    } catch (err) {
      if (!(err instanceof IndexCorruptError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const car = await this.#transient(key);
    const { index, rebuilt, reason } = await loadOrBuildIndex(car, this.indexPath(key), { signal: this.#stopping.signal });
    if (rebuilt) this.#log.info(`shard ${key}: index built (${reason})`);
    this.#indexes.set(key, index);
  }

  /** The transient copy of the payload, fetched through the mount when there is none (concurrent fetches shared). */
  #transient(key: string): Promise<string> {
    const path = this.transientPath(key);
    if (existsSync(path)) return Promise.resolve(path);
    let running = this.#fetching.get(key);
    if (!running) {
      running = this.#track(() => this.#fetch(key, path)).finally(() => this.#fetching.delete(key));
      this.#fetching.set(key, running);
    }
    return running;
  }

  /** The sectors of the miner that hold the piece, with where it lies in each (unpadded). */
  async #locations(key: string): Promise<{ ref: SectorRef; offset: number; payloadSize: number; capacity: number }[]> {
    const locations = (await this.#o.index.sectors.findPiece(key)).filter((l) => l.miner === this.#o.miner && !l.piece.filler);
    if (locations.length === 0) throw new FetchFailedError(`piece ${key} is in no sector of miner ${this.#o.miner}`);
    return Promise.all(
      locations.map(async (l) => {
        const r = await this.#o.index.sectors.get(l.miner, l.number);
        return {
          ref: { id: { miner: l.miner, number: l.number }, proofType: r?.proofType ?? 0 },
          offset: l.piece.paddedOffset - l.piece.paddedOffset / 128,
          payloadSize: l.piece.payloadSize,
          capacity: l.piece.paddedSize - l.piece.paddedSize / 128,
        };
      }),
    );
  }

  /**
   * A reader of `[start, start+length)` of a piece's payload (Lotus `markets/dagstore/miner_api.go`
   * FetchUnsealedPiece): the piece provider's reader opened at that offset of a sector that holds
   * the piece, a sector with an unsealed copy first (first pass), else one unsealed (second pass:
   * the whole piece, as Lotus; may take long).
   */
  async #readPiece(key: string, start: number, length: number, signal?: AbortSignal): Promise<PieceReader> {
    const locations = await this.#locations(key);
    const errors: string[] = [];
    for (const pass of ['unsealed', 'unseal'] as const) {
      for (const l of locations) {
        if (start + length > l.payloadSize) throw new InvalidArgumentError(`range [${start}, +${length}) ends past the ${l.payloadSize}-byte payload of piece ${key}`);
        try {
          if (pass === 'unsealed' && !(await this.#o.pieces.isUnsealed(l.ref, l.offset, l.payloadSize, signal))) continue;
          return await this.#o.pieces.readPiece(l.ref, l.offset + start, length, { unsealRange: { offset: l.offset, size: l.capacity }, ...(signal ? { signal } : {}) });
        } catch (err) {
          if (signal?.aborted) throw err;
          errors.push(`sector ${l.ref.id.number}: ${(err as Error).message}`);
        }
      }
    }
    throw new FetchFailedError(`piece ${key} could not be read from any sector: ${errors.join('; ')}`);
  }

  /** LotusMount Fetch: the whole payload into `<path>.partial`, then renamed. */
  async #fetch(key: string, path: string): Promise<string> {
    const signal = this.#stopping.signal;
    const [first] = await this.#locations(key);
    const reader = await this.#readPiece(key, 0, first!.payloadSize, signal);
    const partial = path.replace(/\.complete$/, '.partial');
    try {
      this.#throwIfStopping(`fetching piece ${key}`);
      await pipeline(Readable.from(reader), createWriteStream(partial), { signal });
      this.#throwIfStopping(`fetching piece ${key}`);
    } catch (err) {
      await rm(partial, { force: true });
      if (signal.aborted) throw new AbortedError(`fetching piece ${key}: the dagstore stopped`, { cause: err });
      throw new FetchFailedError(`piece ${key} could not be fetched: ${(err as Error).message}`, { cause: err });
    }
    await rename(partial, path);
    await this.#o.index.shards.setTransient(key, path);
    return path;
  }

  #listen(ref: { on: (type: 'shard.reply', h: (r: ShardReply) => void) => unknown }): void {
    ref.on('shard.reply', (r) => {
      const settle = this.#waiting.get(r.requestId);
      if (!settle) return;
      this.#waiting.delete(r.requestId);
      settle(r);
    });
  }

  /**
   * The shard key (the v1 piece CID) that a piece CID of either version names. A v2 piece CID
   * (FRC-0069: raw codec, multihash fr32-sha256-trunc254-padbintree 0x1011, digest
   * `uvarint(padding) ‖ height ‖ commP`) is mapped to the v1 CID of its commitment, and the sizes
   * it carries must be the piece's as recorded in a sector of this miner. Anything else is
   * returned as it is (an unknown key is refused where it is used).
   * @throws PieceCidInvalidError for a malformed v2 CID, or one whose sizes are not the piece's
   */
  async #keyOf(input: string | CID): Promise<string> {
    let cid: CID | null = typeof input === 'string' ? null : input;
    if (typeof input === 'string') {
      try {
        cid = CID.parse(input);
      } catch {
        return input;
      }
    }
    if (!cid || cid.code !== RAW_CODEC || cid.multihash.code !== FR32_SHA256_TRUNC254_PADBINTREE) return cid?.toString() ?? String(input);
    const v2 = parsePieceCid(cid);
    if (v2.version !== 2) return cid.toString();
    const key = pieceCidV1(v2.commP).toString();
    const held = (await this.#o.index.sectors.findPiece(key)).filter((l) => l.miner === this.#o.miner && !l.piece.filler);
    if (held.length > 0 && !held.some((l) => l.piece.payloadSize === v2.payloadSize && l.piece.paddedSize === v2.paddedSize)) {
      const p = held[0]!.piece;
      throw new PieceCidInvalidError(
        `piece CID v2 ${cid} says a ${v2.payloadSize}-byte payload in a ${v2.paddedSize}-byte piece, but piece ${key} holds ${p.payloadSize} bytes in a ${p.paddedSize}-byte piece`,
      );
    }
    return key;
  }

  #ref(key: string) {
    const ref = this.#root.getSnapshot().context.shards[key];
    if (!ref) throw new ShardUnknownError(`shard ${key} is not registered`);
    return ref;
  }

  /** Sends a request to a shard and waits for its reply. */
  #ask(key: string, build: (requestId: string) => ShardEvent): Promise<ShardReply> {
    const ref = this.#ref(key);
    const requestId = randomUUID();
    const reply = new Promise<ShardReply>((resolve) => this.#waiting.set(requestId, resolve));
    ref.send(build(requestId));
    return reply.then((r) => {
      if (!r.ok) throw errorFromWire({ code: r.code as ErrorCode, message: r.error });
      return r;
    });
  }

  /**
   * Registers a shard for a piece (Lotus RegisterShard): `lazy` shards initialize on first acquire;
   * an eager one resolves once it is Available. ShardExistsError for a key already registered.
   */
  async registerShard(key: string, options: { lazy: boolean; roots?: string[] }): Promise<void> {
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('shard key must be a piece CID');
    const rec = await this.#o.index.shards.register({ key, url: mountUrl(key), lazy: options.lazy, ...(options.roots ? { roots: options.roots } : {}) });
    this.#root.send({ type: 'registry.add', shard: { key: rec.key, lazy: rec.lazy } } satisfies RegistryEvent);
    this.#listen(this.#ref(key));
    if (!options.lazy) await this.#ask(key, (requestId) => ({ type: 'shard.initialize', requestId }));
  }

  /**
   * A deal piece just added to a sector becomes a shard (go-fil-markets `HandoffDeal`, then
   * `markets/dagstore/wrapper.go` RegisterShard). With a handoff (`pieces import`) the checked CAR
   * is moved in as the transient, its index written, and the shard registered eagerly (Available
   * at once, nothing read back); without one (`pieces add`) the shard is lazy: its payload is
   * fetched and indexed on first acquire. A piece that has a shard already (the same bytes in
   * another sector) keeps it: the mount finds every sector holding the piece.
   *
   * Never rejects: the piece is in its sector (committed) by the time this runs, so the add has
   * succeeded whatever happens here. A registration that fails (its record not saved, the
   * dagstore stopping) leaves no shard and none of the handed-over files; the error is logged
   * with the piece and sector, and the shard is owed: registered lazily on the next GC interval
   * ({@link retryRegistrations}), or at the next start ({@link registerMissingShards}), whichever
   * comes first. A shard registered whose eager initialization fails is Errored (and recoverable),
   * not owed.
   */
  async registerDealPiece(added: { pieceCid: string; sector: number }, handoff?: ShardHandoff): Promise<void> {
    const key = added.pieceCid;
    const moved: string[] = [];
    try {
      this.#throwIfStopping(`registering the shard of piece ${key}`);
      if (handoff && !existsSync(this.transientPath(key))) {
        moved.push(this.indexPath(key));
        await writeFileDurable(this.indexPath(key), handoff.index.marshal());
        moved.push(this.transientPath(key));
        await rename(handoff.car, this.transientPath(key));
      }
      await this.registerShard(key, { lazy: handoff === undefined, ...(handoff ? { roots: handoff.roots } : {}) });
    } catch (err) {
      if (err instanceof ShardExistsError) {
        this.#log.info(`piece ${key} has a shard already: sector ${added.sector} holds another copy`);
        return;
      }
      if (this.#root.getSnapshot().context.shards[key]) {
        this.#log.warn(`piece ${key} (sector ${added.sector}): its shard is registered but failed to initialize: ${(err as Error).message}`);
        return;
      }
      for (const path of moved) await rm(path, { force: true }).catch(() => {});
      this.#indexes.delete(key);
      this.#owed.set(key, { sector: added.sector, ...(handoff ? { roots: handoff.roots } : {}) });
      const code = err instanceof SectorStorageError ? `${err.code}: ` : '';
      this.#log.error(
        `piece ${key} is in sector ${added.sector} but its shard could not be registered (${code}${(err as Error).message}); ` +
          'it is registered as a lazy shard at the next GC interval or the next start',
      );
    }
  }

  /** The shards owed to deal pieces whose registration failed, by key (see {@link registerDealPiece}). */
  get owedShards(): string[] {
    return [...this.#owed.keys()];
  }

  /**
   * Registers the owed shards as lazy ones (each GC interval); one that fails again stays owed and
   * is logged. Runs one round at a time, and none once the dagstore is stopping.
   */
  async retryRegistrations(): Promise<void> {
    if (this.#retrying || this.#owed.size === 0 || this.#stopping.signal.aborted) return;
    this.#retrying = true;
    try {
      for (const [key, owed] of [...this.#owed]) {
        if (this.#stopping.signal.aborted) return;
        try {
          await this.registerShard(key, { lazy: true, ...(owed.roots ? { roots: owed.roots } : {}) });
          this.#log.info(`piece ${key} (sector ${owed.sector}): its owed shard is registered (lazy)`);
        } catch (err) {
          if (!(err instanceof ShardExistsError)) {
            this.#log.warn(`piece ${key} (sector ${owed.sector}): registering its shard failed again: ${(err as Error).message}`);
            continue;
          }
        }
        this.#owed.delete(key);
      }
    } finally {
      this.#retrying = false;
    }
  }

  /** Acquires a shard for reading (Lotus LoadShard / AcquireShard). */
  async acquireShard(pieceCid: string): Promise<ShardAccessor> {
    const key = await this.#keyOf(pieceCid);
    await this.#ask(key, (requestId) => ({ type: 'shard.acquire', requestId }));
    const ref = this.#ref(key);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      ref.send({ type: 'shard.release' });
    };
    try {
      const transient = await this.#transient(key);
      let index = this.#indexes.get(key);
      if (!index || !existsSync(this.indexPath(key))) {
        const built = await this.#track(() => loadOrBuildIndex(transient, this.indexPath(key), { signal: this.#stopping.signal }));
        if (built.rebuilt) this.#log.info(`shard ${key}: index rebuilt (${built.reason})`);
        index = built.index;
        this.#indexes.set(key, index);
      }
      const blocks = await CarBlocks.open(transient, index);
      return {
        key,
        blocks,
        transient,
        close: async () => {
          if (released) return;
          await blocks.close();
          release();
        },
      };
    } catch (err) {
      release();
      ref.send({ type: 'shard.fail', error: (err as Error).message });
      throw err;
    }
  }

  /** The shards and their states (Lotus DagstoreListShards). */
  async listShards(): Promise<ShardInfo[]> {
    const shards = this.#root.getSnapshot().context.shards;
    return (await this.#o.index.shards.list()).map((r) => {
      const live = shards[r.key]?.getSnapshot();
      return { Key: r.key, State: live ? NAMES[String(live.value)]! : r.state, Error: live?.context.error ?? r.error ?? '' };
    });
  }

  #stateOf(key: string): ShardStateName {
    return NAMES[String(this.#ref(key).getSnapshot().value)]!;
  }

  /** Initializes a New shard by acquiring it once (Lotus DagstoreInitializeShard). */
  async initializeShard(pieceCid: string): Promise<void> {
    const key = await this.#keyOf(pieceCid);
    const state = this.#stateOf(key);
    if (state !== 'ShardStateNew') throw new ShardStateInvalidError(`shard ${key}: expected state ShardStateNew, was: ${state}`);
    const acc = await this.acquireShard(key);
    await acc.close();
  }

  /**
   * Initializes every New shard, at most `concurrency` at once (0: all), and reports each
   * (Lotus DagstoreInitializeAll). Without `includeSealed`, only pieces an unsealed copy has.
   */
  async initializeAll(options: { includeSealed?: boolean; concurrency?: number; onEvent?: (e: { Key: string; Event: 'start' | 'end'; Success: boolean; Error: string; Current: number; Total: number }) => void } = {}) {
    const all = (await this.listShards()).filter((s) => s.State === 'ShardStateNew').map((s) => s.Key);
    const keys: string[] = [];
    for (const key of all) if (options.includeSealed || (await this.#hasUnsealed(key))) keys.push(key);
    const results: { Key: string; Success: boolean; Error: string }[] = [];
    let next = 0;
    let current = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const n = ++current;
        options.onEvent?.({ Key: key, Event: 'start', Success: false, Error: '', Current: n, Total: keys.length });
        try {
          await this.initializeShard(key);
          results.push({ Key: key, Success: true, Error: '' });
          options.onEvent?.({ Key: key, Event: 'end', Success: true, Error: '', Current: n, Total: keys.length });
        } catch (err) {
          results.push({ Key: key, Success: false, Error: (err as Error).message });
          options.onEvent?.({ Key: key, Event: 'end', Success: false, Error: (err as Error).message, Current: n, Total: keys.length });
        }
      }
    };
    const width = options.concurrency && options.concurrency > 0 ? options.concurrency : Math.max(1, keys.length);
    await Promise.all(Array.from({ length: Math.min(width, Math.max(1, keys.length)) }, worker));
    return results;
  }

  async #hasUnsealed(key: string): Promise<boolean> {
    for (const l of await this.#o.index.sectors.findPiece(key)) {
      if (l.piece.filler || l.miner !== this.#o.miner) continue;
      const r = await this.#o.index.sectors.get(l.miner, l.number);
      if (!r) continue;
      const ok = await this.#o.pieces
        .isUnsealed({ id: { miner: l.miner, number: l.number }, proofType: r.proofType }, l.piece.paddedOffset - l.piece.paddedOffset / 128, l.piece.payloadSize)
        .catch(() => false);
      if (ok) return true;
    }
    return false;
  }

  /** Recovers an Errored shard (Lotus DagstoreRecoverShard). */
  async recoverShard(pieceCid: string): Promise<void> {
    const key = await this.#keyOf(pieceCid);
    const state = this.#stateOf(key);
    if (state !== 'ShardStateErrored') throw new ShardStateInvalidError(`shard ${key}: expected state ShardStateErrored, was: ${state}`);
    await this.#ask(key, (requestId) => ({ type: 'shard.recover', requestId }));
  }

  /** A GC round now: the shards whose transient copy was dropped (Lotus DagstoreGC). */
  async gc(): Promise<{ Key: string; Success: boolean; Error: string }[]> {
    const out: { Key: string; Success: boolean; Error: string }[] = [];
    for (const key of Object.keys(this.#root.getSnapshot().context.shards).sort()) {
      const had = existsSync(this.transientPath(key));
      try {
        const r = await this.#ask(key, (requestId) => ({ type: 'shard.gc', requestId }));
        if (r.ok && r.collected && had) out.push({ Key: key, Success: true, Error: '' });
      } catch (err) {
        out.push({ Key: key, Success: false, Error: (err as Error).message });
      }
    }
    return out;
  }

  /** The shards whose index holds a block with this CID's multihash (Lotus DagstoreLookupPieces). */
  async lookupPieces(cid: CID): Promise<ShardInfo[]> {
    const out: ShardInfo[] = [];
    for (const s of await this.listShards()) {
      const index = await this.#loadedIndex(s.Key);
      if (index && index.find(cid.multihash.code, cid.multihash.digest).length > 0) out.push(s);
    }
    return out;
  }

  async #loadedIndex(key: string): Promise<MultihashIndexSorted | undefined> {
    const have = this.#indexes.get(key);
    if (have) return have;
    try {
      const index = MultihashIndexSorted.unmarshal(await readFile(this.indexPath(key)), this.indexPath(key));
      this.#indexes.set(key, index);
      return index;
    } catch (err) {
      if (err instanceof SectorStorageError || (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Registers every deal piece of the miner's sectors as a lazy shard, once (Lotus MigrateDeals,
   * `.shard-registration-complete`); returns the keys registered (none after the first time).
   */
  async migrate(): Promise<string[]> {
    if ((await this.#o.index.shards.mark(MIGRATION_MARK)) !== undefined) return [];
    const added = await this.#registerUnsharded();
    await this.#o.index.shards.setMark(MIGRATION_MARK, new Date().toISOString());
    if (added.length > 0) this.#log.info(`dagstore: registered ${added.length} deal pieces of existing sectors as lazy shards`);
    return added;
  }

  /**
   * At every start after {@link migrate}: registers as lazy shards the deal pieces that have none
   * although they were added with the dagstore running (a registration that failed, and whose
   * retry the daemon did not live to make; see {@link registerDealPiece}). Returns their keys.
   */
  async registerMissingShards(): Promise<string[]> {
    const added = await this.#registerUnsharded((key, sector, err) => {
      // the daemon still starts: the shard stays owed, retried each GC interval
      this.#owed.set(key, { sector });
      this.#log.error(`piece ${key} (sector ${sector}) has no shard and registering one failed: ${(err as Error).message}; retried each GC interval`);
    });
    for (const key of added) this.#owed.delete(key);
    if (added.length > 0) this.#log.warn(`dagstore: registered ${added.length} deal pieces whose shard was missing as lazy shards: ${added.join(', ')}`);
    return added;
  }

  /**
   * Registers a lazy shard for each deal piece of the miner's live sectors that has none; a
   * registration that fails is handed to `onFail` when given, else thrown.
   */
  async #registerUnsharded(onFail?: (key: string, sector: number, err: unknown) => void): Promise<string[]> {
    const added: string[] = [];
    for (const r of await this.#o.index.sectors.list(this.#o.miner)) {
      if (r.state === 'Removed' || r.state === 'Removing') continue;
      for (const p of r.pieces) {
        if (p.filler || this.#root.getSnapshot().context.shards[p.pieceCid] || (await this.#o.index.shards.get(p.pieceCid))) continue;
        try {
          await this.registerShard(p.pieceCid, { lazy: true });
        } catch (err) {
          if (err instanceof ShardExistsError) continue;
          if (!onFail) throw err;
          onFail(p.pieceCid, r.number, err);
          continue;
        }
        added.push(p.pieceCid);
      }
    }
    return added;
  }

  /** `pieces import`: a CAR as a deal piece and an Available shard (actors/piece-import.ts). */
  async importCar(req: { source: AsyncIterable<Uint8Array>; payloadSize: number; sector?: number; signal?: AbortSignal }): Promise<ImportedPiece> {
    const addPiece = this.#o.addPiece;
    if (!addPiece) throw new InvalidArgumentError('this dagstore cannot add pieces');
    return importCarPiece({ sectors: { addPiece }, dir: this.#o.dir }, req);
  }

  /** The shard to serve `cid` from: the shard it keys (a piece CID), else the first whose index holds it. */
  async #shardFor(cid: CID): Promise<string> {
    const key = isPieceCid(cid) ? await this.#keyOf(cid) : cid.toString();
    if (this.#root.getSnapshot().context.shards[key]) return key;
    const found = await this.lookupPieces(cid);
    if (found.length === 0) throw new BlockNotFoundError(`no shard holds ${key}`);
    return (found.find((s) => s.State !== 'ShardStateErrored') ?? found[0]!).Key;
  }

  /**
   * A piece's payload for reading by range (`GET /piece` with `Range`): its size, and readers of
   * any `[start, start+length)` that open the piece provider's reader at that offset of the sector
   * (no transient copy is made, nothing before `start` is read).
   * @throws ShardUnknownError when the CID is no shard's piece CID
   */
  async openPiece(cid: CID): Promise<PieceRanges> {
    const key = await this.#keyOf(cid);
    this.#ref(key);
    const [first] = await this.#locations(key);
    const size = first!.payloadSize;
    return {
      size,
      read: async (start, length, options = {}) => {
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 1 || start + length > size) {
          throw new InvalidArgumentError(`range [${start}, +${length}) is not inside the ${size}-byte piece ${key}`);
        }
        return this.#readPiece(key, start, length, options.signal);
      },
    };
  }

  /**
   * What `retrieve` and the HTTP endpoints serve: for a piece CID, the piece's payload bytes
   * (read through the piece provider, see {@link openPiece}); for any other CID, the DAG under it
   * as a CARv1 (`car`) or its one block (`raw`), the shard acquired for the life of the stream.
   * @throws BlockNotFoundError when no shard holds the CID (or, for `raw`/`car`, the block)
   */
  async retrieve(cid: CID, format: 'piece' | 'car' | 'raw', options: { signal?: AbortSignal } = {}): Promise<{ size?: number; body: AsyncIterable<Uint8Array> }> {
    if (format === 'piece') {
      if (!isPieceCid(cid) || !this.#root.getSnapshot().context.shards[await this.#keyOf(cid)]) {
        throw new ShardUnknownError(`${cid} is not the piece CID of a shard`);
      }
      const piece = await this.openPiece(cid);
      return { size: piece.size, body: await piece.read(0, piece.size, options) };
    }
    const key = await this.#shardFor(cid);
    const acc = await this.acquireShard(key);
    try {
      if (format === 'raw') {
        const bytes = await acc.blocks.get(cid);
        await acc.close();
        return { size: bytes.length, body: Readable.from([bytes]) };
      }
      if (!(await acc.blocks.has(cid))) throw new BlockNotFoundError(`block ${cid} is not in shard ${key}`);
      return { body: released(exportDag(cid, (c) => acc.blocks.get(c), options), acc) };
    } catch (err) {
      await acc.close();
      throw err;
    }
  }

  /** The registry root (tests step it on a simulated clock). */
  get root(): Actor<typeof registryMachine> {
    return this.#root;
  }

  /**
   * Stops the registry and every mount, fetch and index build in flight (aborted: their partial
   * files removed), and resolves once they have all ended, so nothing is written after it.
   * Requests still waiting are answered ABORTED.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#root.stop();
    for (const [id, settle] of this.#waiting) {
      this.#waiting.delete(id);
      settle({ type: 'shard.reply', key: '', requestId: id, ok: false, error: 'the dagstore stopped', code: 'ABORTED' });
    }
    await Promise.allSettled([...this.#inflight]);
  }

}
