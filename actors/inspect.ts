/**
 * Sinks of the inspection hub (actors/inspection-hub.ts), both fed in batches off the actors' path:
 *
 * - an NDJSON log (`run --inspect-log FILE`): one line per event delivered (`@xstate.event`), per
 *   snapshot (`@xstate.snapshot`) and per actor created (`@xstate.actor`), appended through a
 *   write stream (never a synchronous write). The offline answer to "what did sector 12 do?".
 *   Each line: `{ "t": unix ms, "type": "@xstate.event", "actor": "x:3", "source"?: "x:0",
 *   "event": {…} }` or `{ "t", "type": "@xstate.snapshot", "actor", "event", "value", "status",
 *   "context" }` with the context summarised (actors/inspection-summary.ts). Actor refs in payloads
 *   become `{ "$actor": sessionId }`, byte arrays `{ "$bytes": length }`, errors `{ "$error": name,
 *   "message" }`.
 * - Stately's inspector (`run --inspect`): `@statelyai/inspect`'s WebSocket inspector publishes
 *   the hub's live sample to its inspector server, whose page embeds Stately's hosted inspector UI
 *   (that page needs the internet; the transport does not).
 */
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { InspectionEvent } from 'xstate';
import { InvalidArgumentError } from '../src/errors.js';
import type { InspectionHub } from './inspection-hub.js';
import { summarizeContext } from './inspection-summary.js';

/** Options of {@link inspectionRecord}. */
export interface InspectionLogOptions {
  /** Also log actor creations. @default true */
  actors?: boolean;
  /** Include context summaries in snapshot lines. @default true */
  context?: boolean;
  /** Wall clock. @default Date.now */
  now?: () => number;
}

/** An open inspection log. */
export interface InspectionLog {
  /** Lines handed to the file so far. */
  readonly lines: number;
  /** Folds what the hub holds, writes it, and closes the file (idempotent). */
  close(): Promise<void>;
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
        ...(options.context !== false && snap.context !== undefined ? { context: summarizeContext(snap.context) } : {}),
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
 * Appends the hub's events to `path` as NDJSON through a write stream.
 * @example
 * const hub = new InspectionHub();
 * const log = createInspectionLog('/tmp/actors.ndjson', hub);
 * const d = await startDaemonSystem({ ...options, inspect: hub.inspect });
 * // …
 * await d.stop();
 * await log.close();
 */
export function createInspectionLog(path: string, hub: InspectionHub, options: InspectionLogOptions = {}): InspectionLog {
  const out = createWriteStream(path, { flags: 'a' });
  let failed: Error | undefined;
  out.on('error', (err) => {
    failed = err;
  });
  let lines = 0;
  const remove = hub.addSink(({ all }) => {
    if (failed) return;
    let text = '';
    for (const ev of all) {
      const record = inspectionRecord(ev, options);
      if (!record) continue;
      text += `${JSON.stringify(record, inspectionReplacer)}\n`;
      lines++;
    }
    // the stream buffers while the disk is slow; the hub's batches are what bounds it
    if (text) out.write(text);
  });
  let closing: Promise<void> | undefined;
  return {
    get lines() {
      return lines;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        hub.flush();
        remove();
        out.end(() => (failed ? reject(failed) : resolve()));
      });
      return closing;
    },
  };
}

/** A running Stately publisher. */
export interface StatelyPublisher {
  /** `http://localhost:<port>`: the page that embeds Stately's inspector UI (needs the internet). */
  readonly url: string;
  close(): void;
}

/** Resolves when nothing listens on `port`; InvalidArgumentError naming it otherwise. */
function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new InvalidArgumentError(`--inspect-port ${port} cannot be used (${err.code ?? err.message}): pick another port`)),
    );
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/**
 * Publishes the hub's live sample through `@statelyai/inspect`: its inspector server on `port`
 * relays to the browser, its WebSocket inspector sends our events there. Contexts are sent as
 * summaries (a scheduler context holds every table). Loaded on use: only `run --inspect` needs it.
 */
export async function startStatelyPublisher(hub: InspectionHub, port: number): Promise<StatelyPublisher> {
  await checkPortFree(port);
  const [{ createInspectorServer }, { createWebSocketInspector }] = await Promise.all([
    import('@statelyai/inspect/server'),
    import('@statelyai/inspect'),
  ]);
  const server = createInspectorServer({ port, autoOpen: false });
  const inspector = createWebSocketInspector({
    url: `ws://127.0.0.1:${port}`,
    sanitizeContext: (context) => summarizeContext(context),
    maxDeferredEvents: 1000,
  });
  const remove = hub.addSink(({ sample }) => {
    for (const ev of sample) inspector.inspect.next?.(ev);
  });
  return {
    url: `http://localhost:${port}`,
    close() {
      remove();
      inspector.stop();
      server.stop();
    },
  };
}
