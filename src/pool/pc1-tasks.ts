/**
 * Pool handlers of the PC1 area: run on a sealer pool thread, input and output are plain
 * structured-cloneable data.
 */
import type { Handler } from './handlers.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type PreCommit1Input, type PreCommit1Output, sealPreCommit1, sealPreCommit1Batch } from '../seal/pc1.js';

export const pc1Handlers = {
  /** SealPreCommit1: labels every layer into the cache directory (resumes an interrupted run). */
  async pc1(input: PreCommit1Input, ctx: TaskContext): Promise<PreCommit1Output> {
    return sealPreCommit1(input, ctx);
  },
  /** PC1 of 1 to 8 sectors of one size on this thread, labelled together (see pc1.ts). */
  async pc1Batch(input: { inputs: PreCommit1Input[] }, ctx: TaskContext): Promise<PreCommit1Output[]> {
    return sealPreCommit1Batch(input.inputs, ctx);
  },
} satisfies Record<string, Handler>;
