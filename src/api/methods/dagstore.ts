/**
 * Dagstore, import and retrieval methods, with Lotus's names and shapes
 * (`api/api_storage.go`, `node/impl/storminer.go` Dagstore*):
 * - `DagstoreListShards()` (read) → `[{Key, State, Error}]`
 * - `DagstoreInitializeShard(key)` (write): a New shard, acquired once
 * - `DagstoreInitializeAll({MaxConcurrency, IncludeSealed})` (write) → the events Lotus streams,
 *   as one list: `[{Key, Event: "start"|"end", Success, Error, Total, Current}]`
 * - `DagstoreRecoverShard(key)` (write): an Errored shard
 * - `DagstoreGC()` (admin) → `[{Key, Success, Error}]` per transient dropped
 * - `DagstoreLookupPieces(cid)` (admin) → the shards whose index holds the CID
 * Ours: `PiecesImport(payloadSize, {Type:"push",Info}, {Sector?})` (write) → the piece with its
 * roots; `DagstoreRetrieve(cid, format)` (read, streamed): a piece's bytes, a DAG as CARv1, a block.
 */
import { CID } from 'multiformats/cid';
import { InvalidArgumentError } from '../../errors.js';
import { expectArity, intField, intParam, objectParam, stringParam } from '../params.js';
import { defineMethod, defineStreamMethod } from '../rpc-method.js';
import { addPieceResult, type DataRef, exactly, pushDataParam } from './pieces.js';

/** Lotus DagstoreShardInfo. */
export interface DagstoreShardInfo {
  Key: string;
  State: string;
  Error: string;
}

/** What the API needs of the daemon's dagstore (actors/dagstore.ts `Dagstore`), structurally. */
export interface DagstoreApiService {
  listShards(): Promise<DagstoreShardInfo[]>;
  initializeShard(key: string): Promise<void>;
  initializeAll(options: { includeSealed?: boolean; concurrency?: number; onEvent?: (e: InitializeAllEvent) => void }): Promise<{ Key: string; Success: boolean; Error: string }[]>;
  recoverShard(key: string): Promise<void>;
  gc(): Promise<{ Key: string; Success: boolean; Error: string }[]>;
  lookupPieces(cid: CID): Promise<DagstoreShardInfo[]>;
  importCar(req: { source: AsyncIterable<Uint8Array>; payloadSize: number; sector?: number; signal?: AbortSignal }): Promise<{
    sector: number;
    offset: number;
    paddedOffset: number;
    pieceCid: string;
    pieceCidV2: string;
    paddedSize: number;
    payloadSize: number;
    roots: string[];
    blocks: number;
  }>;
  retrieve(cid: CID, format: RetrievalFormat, options?: { signal?: AbortSignal }): Promise<{ size?: number; body: AsyncIterable<Uint8Array> }>;
  /** A piece's payload by range (`GET /piece` with `Range`): read from the range's offset on. */
  openPiece(cid: CID): Promise<{ size: number; read(start: number, length: number, options?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> }>;
}

/** Lotus DagstoreInitializeAllEvent. */
export interface InitializeAllEvent {
  Key: string;
  Event: 'start' | 'end';
  Success: boolean;
  Error: string;
  Total: number;
  Current: number;
}

/** `piece`: a piece's payload bytes; `car`: the DAG under a CID as CARv1; `raw`: one block. */
export type RetrievalFormat = 'piece' | 'car' | 'raw';
const FORMATS: readonly RetrievalFormat[] = ['piece', 'car', 'raw'];

declare module '../components.js' {
  interface ApiComponents {
    /** Set once the actor system runs with a dagstore. */
    dagstore?: DagstoreApiService;
  }
}

function dagstoreOf(d: DagstoreApiService | undefined): DagstoreApiService {
  if (!d) throw new InvalidArgumentError('the daemon runs no dagstore');
  return d;
}

/** Parses a CID param (a string on the wire), naming it. */
export function parseCidParam(text: string, name: string): CID {
  try {
    return CID.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`param ${name} ${JSON.stringify(text)} is not a CID (${(err as Error).message})`);
  }
}

const keyParams = (raw: unknown[]): [string] => {
  expectArity(raw, 1);
  return [stringParam(raw, 0, 'key')];
};

export const dagstoreMethods = {
  DagstoreListShards: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, ctx) => dagstoreOf(ctx.components.dagstore).listShards(),
  }),
  DagstoreInitializeShard: defineMethod({
    perm: 'write',
    params: keyParams,
    run: async ([key], ctx) => {
      await dagstoreOf(ctx.components.dagstore).initializeShard(key);
      return null;
    },
  }),
  DagstoreInitializeAll: defineMethod({
    perm: 'write',
    params: (raw): [{ MaxConcurrency: number; IncludeSealed: boolean }] => {
      expectArity(raw, 0, 1);
      const o = raw[0] === undefined || raw[0] === null ? {} : objectParam(raw, 0, 'params');
      if (o.IncludeSealed !== undefined && typeof o.IncludeSealed !== 'boolean') throw new InvalidArgumentError('param params.IncludeSealed must be a boolean');
      return [{ MaxConcurrency: intField(o, 'MaxConcurrency', 'params') ?? 0, IncludeSealed: o.IncludeSealed === true }];
    },
    run: async ([p], ctx) => {
      const events: InitializeAllEvent[] = [];
      await dagstoreOf(ctx.components.dagstore).initializeAll({ includeSealed: p.IncludeSealed, concurrency: p.MaxConcurrency, onEvent: (e) => events.push(e) });
      return events;
    },
  }),
  DagstoreRecoverShard: defineMethod({
    perm: 'write',
    params: keyParams,
    run: async ([key], ctx) => {
      await dagstoreOf(ctx.components.dagstore).recoverShard(key);
      return null;
    },
  }),
  DagstoreGC: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, ctx) => dagstoreOf(ctx.components.dagstore).gc(),
  }),
  DagstoreLookupPieces: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      const cid = stringParam(raw, 0, 'cid');
      parseCidParam(cid, 'cid');
      return [cid];
    },
    run: async ([cid], ctx) => dagstoreOf(ctx.components.dagstore).lookupPieces(parseCidParam(cid, 'cid')),
  }),
  PiecesImport: defineMethod({
    perm: 'write',
    params: (raw): [number, DataRef, { Sector?: number }] => {
      expectArity(raw, 2, 3);
      const payloadSize = intParam(raw, 0, 'payloadSize');
      const data = pushDataParam(raw, 1);
      const opts = raw[2] === undefined || raw[2] === null ? {} : objectParam(raw, 2, 'opts');
      const Sector = intField(opts, 'Sector', 'opts');
      return [payloadSize, data, Sector === undefined ? {} : { Sector }];
    },
    run: async ([payloadSize, data, opts], ctx) => {
      const stream = data.Info;
      const dagstore = dagstoreOf(ctx.components.dagstore);
      const taken = await ctx.streams.take(stream, ctx.signal);
      try {
        const p = await dagstore.importCar({
          source: exactly(taken.body, payloadSize, `upload stream ${stream}`, true),
          payloadSize,
          ...(opts.Sector !== undefined ? { sector: opts.Sector } : {}),
          signal: ctx.signal,
        });
        taken.done();
        return { ...addPieceResult(p), Roots: p.roots, Blocks: p.blocks };
      } catch (err) {
        taken.done(err);
        throw err;
      }
    },
  }),
  DagstoreRetrieve: defineStreamMethod({
    perm: 'read',
    params: (raw): [string, RetrievalFormat?] => {
      expectArity(raw, 1, 2);
      const format = raw[1] === undefined || raw[1] === null ? 'car' : stringParam(raw, 1, 'format');
      if (!FORMATS.includes(format as RetrievalFormat)) throw new InvalidArgumentError(`param format ${JSON.stringify(format)} must be one of ${FORMATS.join(', ')}`);
      const cid = stringParam(raw, 0, 'cid');
      parseCidParam(cid, 'cid');
      return [cid, format as RetrievalFormat];
    },
    run: async ([cid, format = 'car'], ctx) => (await dagstoreOf(ctx.components.dagstore).retrieve(parseCidParam(cid, 'cid'), format, { signal: ctx.signal })).body,
  }),
};
