/**
 * Every task a pool thread can run, by kind. Input and output types are derived from the
 * handler implementations, so the union of tasks has one source of truth. Each area keeps its
 * handlers in its own `*-tasks.ts` file and spreads them in here.
 */
import { threadId } from 'node:worker_threads';
import { shaBackend, simdInfo } from '../../native/binding.js';
import { pieceHandlers } from './piece-tasks.js';
import { pc1Handlers } from './pc1-tasks.js';
import { sealHandlers } from './seal-tasks.js';
import type { TaskContext } from '../lifecycle/task-context.js';

/** A task handler: plain structured-cloneable input and output, runs on a pool thread. */
export type Handler = (input: never, ctx: TaskContext) => Promise<unknown>;

const poolHandlers = {
  /** Which thread, SHA backend and SIMD path served the task (diagnostics, and proof that threads load the addon). */
  async nativeInfo(_input: Record<string, never>, _ctx: TaskContext) {
    return { threadId, shaBackend: shaBackend(), simd: simdInfo() };
  },
} satisfies Record<string, Handler>;

export const handlers = {
  ...poolHandlers,
  ...pieceHandlers,
  ...pc1Handlers,
  ...sealHandlers,
} satisfies Record<string, Handler>;

export type Handlers = typeof handlers;
export type TaskKind = keyof Handlers;
export type TaskInput<K extends TaskKind> = Parameters<Handlers[K]>[0];
export type TaskOutput<K extends TaskKind> = Awaited<ReturnType<Handlers[K]>>;
