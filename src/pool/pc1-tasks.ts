/**
 * Pool handlers of the PC1 area: run on a sealer pool thread, input and output are plain
 * structured-cloneable data.
 */
import type { Handler } from './handlers.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type PreCommit1Input, type PreCommit1Output, sealPreCommit1 } from '../seal/pc1.js';

export const pc1Handlers = {
  /** SealPreCommit1: labels every layer into the cache directory (resumes an interrupted run). */
  async pc1(input: PreCommit1Input, ctx: TaskContext): Promise<PreCommit1Output> {
    return sealPreCommit1(input, ctx);
  },
} satisfies Record<string, Handler>;
