/**
 * The module Piscina loads in each pool thread. It hosts the native sealer (loaded once per
 * thread on first use) and runs one task at a time.
 *
 * Every outcome is returned as a result object, never thrown: structured clone drops error
 * subclasses and fields, so the caller rebuilds typed errors from `{ code, message }`.
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { toWireError, type WireError } from '../errors.js';
import { handlers, type TaskKind } from './handlers.js';
import { createTaskContext, type ProgressSink } from '../lifecycle/task-context.js';

/** The message the pool sends for each task. */
export interface TaskMessage {
  kind: TaskKind;
  input: unknown;
  /** Shared cancel flag (Int32Array over a SharedArrayBuffer). */
  cancel?: Int32Array;
  /** Port on which the caller exposes a ProgressSink with Comlink. */
  progressPort?: MessagePort;
}

export type TaskResult = { ok: true; value: unknown } | { ok: false; error: WireError };

export default async function runTask(msg: TaskMessage): Promise<TaskResult> {
  const sink = msg.progressPort ? Comlink.wrap<ProgressSink>(nodeEndpoint(msg.progressPort)) : undefined;
  try {
    const handler = handlers[msg.kind] as (input: unknown, ctx: ReturnType<typeof createTaskContext>) => Promise<unknown>;
    if (typeof handler !== 'function') {
      return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `unknown task kind "${String(msg.kind)}"` } };
    }
    const ctx = createTaskContext(msg.cancel, sink);
    const value = await handler(msg.input, ctx);
    await ctx.delivered();
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  } finally {
    if (sink) sink[Comlink.releaseProxy]();
    msg.progressPort?.close();
  }
}
