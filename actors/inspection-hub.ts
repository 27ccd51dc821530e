/**
 * The inspection hub: XState's `inspect` option feeds it, and it keeps the live actor tree
 * (`/inspect`, `sector-storage actors`), each sector's state history, the recent events, and hands
 * sampled batches to sinks (the NDJSON log, Stately's WebSocket inspector).
 *
 * Inspection must not slow the actors: on their path `inspect` only appends the event object to a
 * bounded queue (an event arriving while it is full is dropped and counted). Everything else —
 * folding into the tree, summarising contexts, serialising, writing — runs in one batch per
 * `intervalMs` on a timer. Live sinks see a sample: per batch, the last snapshot of each actor
 * (state changes are all kept in the sector histories) and at most `liveEventBudget` events.
 */
import type { ActorRefLike, InspectionEvent } from 'xstate';
import type {
  ActorKind,
  ActorTree,
  ActorView,
  EventView,
  InspectionFrame,
  InspectionSource,
  StateChange,
  WorkerNodeView,
} from '../src/api/methods/actors.js';
import { summarizeContext, stateString } from './inspection-summary.js';

/** A batch handed to a sink: every queued event, and the live sample of it. */
export interface InspectionBatch {
  /** Every event folded in this batch (the queue's contents, in order). */
  all: readonly InspectionEvent[];
  /** Actor creations, the last snapshot of each actor, and at most the event budget. */
  sample: readonly InspectionEvent[];
}

/** Receives each batch; runs off the actors' path, so it may do real work. */
export type InspectionSink = (batch: InspectionBatch) => void;

/** Options of {@link InspectionHub}. */
export interface InspectionHubOptions {
  /** Batch period. @default 100 */
  intervalMs?: number;
  /** Queue bound; events beyond it are dropped (counted). @default 50000 */
  queueLimit?: number;
  /** Events per batch handed to live sinks and frames. @default 200 */
  liveEventBudget?: number;
  /** Recent events kept for the tree. @default 200 */
  recentEvents?: number;
  /** State changes kept per sector. @default 500 */
  historyLimit?: number;
  /** Sectors whose history is kept (the oldest seen first forgotten). @default 2000 */
  historySectors?: number;
  /** The scheduler's workers (they are data in its context, not actors). */
  workers?: () => WorkerNodeView[];
  /** Wall clock. @default Date.now */
  now?: () => number;
  /** Told of every state change of a sector (in the batch, off the actors' path): the daemon logs them. */
  onSectorChange?: (sector: number, change: StateChange) => void;
}

interface Tracked extends ActorView {
  ref: ActorRefLike;
}

/** The id an inspected actor is known by: its system id ('scheduler', 'sector:3'), else its child id. */
export function actorIdOf(ref: ActorRefLike): string {
  const { id, systemId } = ref as { id?: unknown; systemId?: unknown };
  if (typeof systemId === 'string') return systemId;
  return typeof id === 'string' ? id : ref.sessionId;
}

function kindOf(id: string): ActorKind {
  if (id === 'scheduler' || id === 'index' || id === 'tasks') return id;
  const prefix = id.slice(0, id.indexOf(':'));
  return prefix === 'group' || prefix === 'sector' ? prefix : 'actor';
}

export class InspectionHub implements InspectionSource {
  readonly #opts: Required<Omit<InspectionHubOptions, 'workers' | 'onSectorChange'>> & Pick<InspectionHubOptions, 'workers' | 'onSectorChange'>;
  #queue: InspectionEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #dropped = 0;
  readonly #actors = new Map<string, Tracked>();
  readonly #recent: EventView[] = [];
  readonly #history = new Map<number, StateChange[]>();
  readonly #sinks = new Set<InspectionSink>();
  readonly #listeners = new Set<(frame: InspectionFrame) => void>();

  constructor(options: InspectionHubOptions = {}) {
    this.#opts = {
      intervalMs: options.intervalMs ?? 100,
      queueLimit: options.queueLimit ?? 50_000,
      liveEventBudget: options.liveEventBudget ?? 200,
      recentEvents: options.recentEvents ?? 200,
      historyLimit: options.historyLimit ?? 500,
      historySectors: options.historySectors ?? 2000,
      now: options.now ?? Date.now,
      ...(options.workers ? { workers: options.workers } : {}),
      ...(options.onSectorChange ? { onSectorChange: options.onSectorChange } : {}),
    };
  }

  /** Pass as `inspect` to `startDaemonSystem` / `createActor`: O(1), no serialisation. */
  readonly inspect = (event: InspectionEvent): void => {
    if (this.#closed) return;
    if (this.#queue.length >= this.#opts.queueLimit) {
      this.#dropped++;
      return;
    }
    this.#queue.push(event);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#opts.intervalMs);
      this.#timer.unref();
    }
  };

  /** Sets where the workers come from (known only once the actor system runs). */
  set workers(source: () => WorkerNodeView[]) {
    this.#opts.workers = source;
  }

  /** Adds a sink of batches; returns its removal. */
  addSink(sink: InspectionSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  subscribe(listener: (frame: InspectionFrame) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Inspection events dropped so far (queue full, or beyond the live budget). */
  get dropped(): number {
    return this.#dropped;
  }

  tree(): ActorTree {
    return {
      t: this.#opts.now(),
      actors: [...this.#actors.values()].map(publicView),
      workers: this.#workers(),
      events: [...this.#recent],
      dropped: this.#dropped,
    };
  }

  history(sector: number): StateChange[] | undefined {
    const h = this.#history.get(sector);
    return h ? [...h] : undefined;
  }

  /** Folds the queued events now (the timer does it every `intervalMs`). */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = this.#queue;
    if (all.length === 0) return;
    this.#queue = [];
    const t = this.#opts.now();
    const changed = new Map<string, Tracked>();
    const lastSnapshot = new Map<string, InspectionEvent>();
    const sample: InspectionEvent[] = [];
    const frameEvents: EventView[] = [];
    let budget = this.#opts.liveEventBudget;
    for (const ev of all) {
      switch (ev.type) {
        case '@xstate.actor': {
          const a = this.#track(ev.actorRef, t);
          changed.set(a.session, a);
          sample.push(ev);
          break;
        }
        case '@xstate.event': {
          const target = this.#actors.get(ev.actorRef.sessionId) ?? this.#track(ev.actorRef, t);
          target.events++;
          const view: EventView = {
            t,
            actor: target.id,
            ...(ev.sourceRef ? { source: actorIdOf(ev.sourceRef) } : {}),
            type: ev.event.type,
          };
          this.#recent.push(view);
          if (budget > 0) {
            budget--;
            frameEvents.push(view);
            sample.push(ev);
          } else this.#dropped++;
          break;
        }
        case '@xstate.snapshot': {
          const a = this.#actors.get(ev.actorRef.sessionId) ?? this.#track(ev.actorRef, t);
          this.#snapshot(a, ev, t);
          changed.set(a.session, a);
          lastSnapshot.set(a.session, ev);
          break;
        }
        default:
          break;
      }
    }
    if (this.#recent.length > this.#opts.recentEvents) this.#recent.splice(0, this.#recent.length - this.#opts.recentEvents);
    sample.push(...lastSnapshot.values());
    // context summaries once per changed actor per batch, not per snapshot
    for (const a of changed.values()) a.context = summarizeContext(a.ref.getSnapshot()?.context);
    const removed: string[] = [];
    for (const a of this.#actors.values()) {
      if (a.ref.getSnapshot()?.status !== 'active') {
        this.#actors.delete(a.session);
        changed.delete(a.session);
        removed.push(a.session);
      }
    }
    const batch = { all, sample };
    for (const sink of this.#sinks) sink(batch);
    if (this.#listeners.size > 0) {
      const frame: InspectionFrame = {
        t,
        actors: [...changed.values()].map(publicView),
        removed,
        workers: this.#workers(),
        events: frameEvents,
        dropped: this.#dropped,
      };
      for (const listener of this.#listeners) listener(frame);
    }
  }

  /** Folds what is queued and stops taking events (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#sinks.clear();
    this.#listeners.clear();
  }

  #track(ref: ActorRefLike, t: number): Tracked {
    const id = actorIdOf(ref);
    const parent = (ref as { _parent?: ActorRefLike })._parent;
    const a: Tracked = {
      ref,
      id,
      session: ref.sessionId,
      ...(parent ? { parent: parent.sessionId } : {}),
      kind: kindOf(id),
      status: 'active',
      context: {},
      since: t,
      updatedAt: t,
      events: 0,
    };
    this.#actors.set(a.session, a);
    return a;
  }

  #snapshot(a: Tracked, ev: Extract<InspectionEvent, { type: '@xstate.snapshot' }>, t: number): void {
    const snap = ev.snapshot as { status?: string; value?: unknown; context?: unknown };
    const state = snap.value === undefined ? undefined : stateString(snap.value);
    const status = snap.status ?? 'active';
    a.updatedAt = t;
    if (state === a.state && status === a.status) return;
    a.since = t;
    a.status = status;
    if (state !== undefined) a.state = state;
    if (a.kind !== 'sector') return;
    const number = Number(a.id.slice('sector:'.length));
    let h = this.#history.get(number);
    if (!h) {
      if (this.#history.size >= this.#opts.historySectors) this.#history.delete(this.#history.keys().next().value!);
      h = [];
      this.#history.set(number, h);
    }
    const change = { t, state: state ?? '', status, event: ev.event.type, context: summarizeContext(snap.context) };
    h.push(change);
    this.#opts.onSectorChange?.(number, change);
    if (h.length > this.#opts.historyLimit) h.splice(0, h.length - this.#opts.historyLimit);
  }

  #workers(): WorkerNodeView[] {
    return this.#opts.workers?.() ?? [];
  }
}

function publicView(a: Tracked): ActorView {
  const { ref: _ref, ...view } = a;
  return { ...view, context: { ...view.context } };
}
