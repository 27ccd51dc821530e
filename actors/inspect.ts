/**
 * An NDJSON log of the actor system, fed by XState's `inspect` option: one line per event
 * delivered (`@xstate.event`) and per snapshot change (`@xstate.snapshot`), optionally actor
 * creations (`@xstate.actor`). Our version of dagstore's trace channel and the offline answer to
 * "what did sector 12 do?" (Stately's hosted inspector UI needs the internet).
 *
 * Each line: `{ "t": unix ms, "type": "@xstate.event", "actor": "x:3", "source"?: "x:0",
 * "event": {…} }` or `{ "t", "type": "@xstate.snapshot", "actor", "event", "value", "status",
 * "context" }`. Actor refs in payloads become `{ "$actor": sessionId }`, byte arrays
 * `{ "$bytes": length }`, errors `{ "$error": name, "message" }`.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { InspectionEvent } from 'xstate';

/** Options of {@link createInspectionLog}. */
export interface InspectionLogOptions {
  /** Also log actor creations. @default true */
  actors?: boolean;
  /** Include machine contexts in snapshot lines. @default true */
  context?: boolean;
  /** Wall clock. @default Date.now */
  now?: () => number;
}

/** An open inspection log. */
export interface InspectionLog {
  /** Pass as `inspect` to `startDaemonSystem` / `createActor`. */
  inspect: (event: InspectionEvent) => void;
  /** Lines written so far. */
  readonly lines: number;
  /** Flushes to disk and closes the file (idempotent). */
  close(): void;
}

function isActorRef(v: object): v is { sessionId: string; send: unknown } {
  return 'sessionId' in v && typeof (v as { send?: unknown }).send === 'function';
}

/** The id of an inspected actor (refs in inspection events are typed loosely). */
function idOf(ref: { sessionId: string }): string {
  // the system id ('scheduler', 'index') names an actor better than the generated root id
  const { id, systemId } = ref as { id?: unknown; systemId?: unknown };
  if (typeof systemId === 'string') return systemId;
  return typeof id === 'string' ? id : ref.sessionId;
}

/**
 * JSON replacer that keeps payloads small and serialisable. It looks at the holder's own value
 * (`this[key]`) as well: JSON.stringify calls an actor ref's `toJSON` before the replacer sees it.
 */
export function inspectionReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = typeof this === 'object' && this !== null ? (this as Record<string, unknown>)[key] : undefined;
  if (typeof original === 'object' && original !== null && isActorRef(original)) return { $actor: original.sessionId };
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (isActorRef(value)) return { $actor: value.sessionId };
  if (value instanceof Uint8Array) return { $bytes: value.byteLength };
  if (value instanceof Error) return { $error: value.name, message: value.message };
  if (typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return { $stream: true };
  return value;
}

/** Turns one inspection event into a JSON-safe line object, or undefined to skip it. */
export function inspectionRecord(ev: InspectionEvent, options: InspectionLogOptions = {}): Record<string, unknown> | undefined {
  const t = (options.now ?? Date.now)();
  switch (ev.type) {
    case '@xstate.event':
      return {
        t,
        type: ev.type,
        actor: idOf(ev.actorRef),
        session: ev.actorRef.sessionId,
        ...(ev.sourceRef ? { source: idOf(ev.sourceRef) } : {}),
        event: ev.event,
      };
    case '@xstate.snapshot': {
      const snap = ev.snapshot as { status?: string; value?: unknown; context?: unknown; output?: unknown; error?: unknown };
      return {
        t,
        type: ev.type,
        actor: idOf(ev.actorRef),
        session: ev.actorRef.sessionId,
        event: ev.event.type,
        status: snap.status,
        ...(snap.value !== undefined ? { value: snap.value } : {}),
        ...(options.context !== false && snap.context !== undefined ? { context: snap.context } : {}),
        ...(snap.status === 'done' && snap.output !== undefined ? { output: snap.output } : {}),
        ...(snap.status === 'error' ? { error: snap.error } : {}),
      };
    }
    case '@xstate.actor':
      if (options.actors === false) return undefined;
      return { t, type: ev.type, actor: idOf(ev.actorRef), session: ev.actorRef.sessionId };
    default:
      return undefined;
  }
}

/**
 * Opens (appending) an NDJSON inspection log at `path`. Lines are written synchronously so that
 * the log is complete up to a crash.
 * @example
 * const log = createInspectionLog('/tmp/actors.ndjson');
 * const d = await startDaemonSystem({ ...options, inspect: log.inspect });
 * // …
 * await d.stop();
 * log.close();
 */
export function createInspectionLog(path: string, options: InspectionLogOptions = {}): InspectionLog {
  let fd: number | undefined = openSync(path, 'a');
  let lines = 0;
  return {
    inspect(ev) {
      if (fd === undefined) return;
      const record = inspectionRecord(ev, options);
      if (!record) return;
      writeSync(fd, `${JSON.stringify(record, inspectionReplacer)}\n`);
      lines++;
    },
    get lines() {
      return lines;
    },
    close() {
      if (fd === undefined) return;
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
    },
  };
}
