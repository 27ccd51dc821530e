/**
 * The live actor tree over the API (ours; Lotus has no actors): `ActorsTree() → ActorTree` and
 * `ActorsHistory(sector) → StateChange[]` (read). The same views feed `/inspect` (the offline page,
 * src/api/inspect-page.ts) and `sector-storage actors`. They are read from the inspection hub
 * (actors/inspection-hub.ts), which folds the actor system's inspection events off the actors' path.
 */
import { InvalidArgumentError, SectorUnknownError } from '../../errors.js';
import { expectArity } from '../params.js';
import { defineMethod } from '../rpc-method.js';

/** What an actor is, by its id. */
export type ActorKind = 'scheduler' | 'index' | 'tasks' | 'group' | 'sector' | 'actor';

/** One live actor. */
export interface ActorView {
  /** Its system id or child id: `scheduler`, `index`, `tasks` (the calls running on workers), `group:0`, `sector:3`. */
  id: string;
  /** XState session id (unique per actor; parents are named by it). */
  session: string;
  /** The parent's session id (none for the root). */
  parent?: string;
  kind: ActorKind;
  /** XState status: active, done, error, stopped. */
  status: string;
  /** The state value, flattened (`Committing.C2`); none for promise actors. */
  state?: string;
  /** A summary of its context: top-level fields, each shortened to one line. */
  context: Record<string, string>;
  /** When it entered its current state (unix ms). */
  since: number;
  /** Its last snapshot (unix ms). */
  updatedAt: number;
  /** Events it received. */
  events: number;
}

/** A worker known to the scheduler (the scheduler holds workers as data, not as actors). */
export interface WorkerNodeView {
  id: string;
  hostname: string;
  connected: boolean;
  enabled: boolean;
  cordoned: boolean;
  /** Calls started on it. */
  running: number;
  /** Calls it prepares. */
  preparing: number;
}

/** An event an actor received. */
export interface EventView {
  t: number;
  /** The receiving actor's id. */
  actor: string;
  /** The sending actor's id, when an actor sent it. */
  source?: string;
  type: string;
}

/** One step of a sector's state history (the time-travel view). */
export interface StateChange {
  t: number;
  state: string;
  status: string;
  /** The event that led there. */
  event: string;
  /** The context summary at that step. */
  context: Record<string, string>;
}

/** The whole tree now. */
export interface ActorTree {
  t: number;
  actors: ActorView[];
  workers: WorkerNodeView[];
  /** The most recent events, oldest first. */
  events: EventView[];
  /** Inspection events not folded because the buffer was full or the live sample budget spent. */
  dropped: number;
}

/** What changed since the previous frame (pushed to `/inspect/events`). */
export interface InspectionFrame {
  t: number;
  /** Actors created or changed. */
  actors: ActorView[];
  /** Session ids of actors gone (done, failed or stopped). */
  removed: string[];
  workers: WorkerNodeView[];
  events: EventView[];
  dropped: number;
}

/** What the API and the page need of the inspection hub, structurally. */
export interface InspectionSource {
  tree(): ActorTree;
  /** A sector's state history, oldest first; undefined when the sector was never seen. */
  history(sector: number): StateChange[] | undefined;
  /** Calls `listener` with every frame until the returned function is called. */
  subscribe(listener: (frame: InspectionFrame) => void): () => void;
}

declare module '../components.js' {
  interface ApiComponents {
    /** Set once the actor system runs. */
    inspection?: InspectionSource;
  }
}

function source(components: { inspection?: InspectionSource }): InspectionSource {
  if (!components.inspection) throw new InvalidArgumentError('the actor system is not running');
  return components.inspection;
}

export const actorsMethods = {
  /** `ActorsTree() → ActorTree` (read, ours). */
  ActorsTree: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, { components }): ActorTree => source(components).tree(),
  }),
  /** `ActorsHistory(sector) → StateChange[]` (read, ours): SECTOR_UNKNOWN for a sector never seen since start. */
  ActorsHistory: defineMethod({
    perm: 'read',
    params: (raw): [number] => {
      expectArity(raw, 1);
      const n = raw[0];
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`param sector must be a sector number (got ${JSON.stringify(n)})`);
      return [n];
    },
    run: ([n], { components }): StateChange[] => {
      const h = source(components).history(n);
      if (!h) throw new SectorUnknownError(`sector ${n} has no state history since the daemon started`);
      return h;
    },
  }),
};
