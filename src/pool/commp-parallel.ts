/**
 * commP of a large file on several pool threads: the piece tree is cut into aligned subtrees of
 * one power-of-two size, each thread computes the roots of the subtrees it is given (`commPRange`
 * tasks, reading its own byte range of the file), and the roots are combined here, with zero
 * subtrees for the part of the piece past the end of the file. The result is bit-identical to
 * the one-thread {@link commPFile}.
 */
import { stat } from 'node:fs/promises';
import { EmptyPayloadError, FileNotFoundError, PayloadTooSmallError } from '../errors.js';
import type { SealerPool } from './pool.js';
import { paddedSizeForPayload } from '../sector/sizes.js';
import { type CommPResult, commPResult, MIN_PAYLOAD_SIZE } from '../piece/commp.js';
import { SubtreeStack } from '../piece/tree-stack.js';

export interface CommPParallelOptions {
  /** Called as subtrees complete with payload bytes hashed so far and the file size. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Smallest subtree handed to one task (padded bytes, a power of two). @default 16 MiB */
  minSubtree?: number;
  /** Aim for at least this many tasks per pool thread, for load balance. @default 4 */
  tasksPerThread?: number;
}

/** Picks the subtree size: the largest power of two giving enough tasks, within limits. */
export function subtreeSizeFor(payloadSize: number, threads: number, minSubtree = 16 * 2 ** 20, tasksPerThread = 4): number {
  const piece = paddedSizeForPayload(payloadSize);
  let size = piece;
  const tasks = (s: number) => Math.ceil(payloadSize / (s - s / 128));
  while (size / 2 >= minSubtree && tasks(size) < threads * tasksPerThread) size /= 2;
  return Math.min(size, piece);
}

/**
 * commP of the file at `path`, spread over the pool's threads.
 * @example
 * const { pieceCid } = await commPFileParallel('big.car', pool);
 */
export async function commPFileParallel(
  path: string,
  pool: SealerPool,
  options: CommPParallelOptions = {},
): Promise<CommPResult> {
  const size = await stat(path).then(
    (s) => s.size,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FileNotFoundError(`file ${path} does not exist`, { cause: err });
      throw err;
    },
  );
  if (size === 0) throw new EmptyPayloadError(`file ${path} is empty; a piece needs at least 65 bytes`);
  if (size < MIN_PAYLOAD_SIZE) {
    throw new PayloadTooSmallError(`file ${path} is ${size} bytes; a piece commitment needs at least ${MIN_PAYLOAD_SIZE} bytes`);
  }
  const paddedSize = paddedSizeForPayload(size);
  const subtree = subtreeSizeFor(size, pool.threads, options.minSubtree, options.tasksPerThread);
  const capacity = subtree - subtree / 128;
  const count = Math.ceil(size / capacity);
  const done = new Array<number>(count).fill(0);
  const report = () => options.onProgress?.(done.reduce((a, b) => a + b, 0), size);
  // one failed subtree cancels the others
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const roots = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      pool
        .run(
          'commPRange',
          { path, offset: i * capacity, subtreeSize: subtree },
          {
            signal,
            onProgress: (p) => {
              done[i] = p.done;
              report();
            },
          },
        )
        .then((r) => {
          done[i] = r.bytes;
          report();
          return r.root;
        })
        .catch((err: unknown) => {
          stop.abort();
          throw err;
        }),
    ),
  );
  const stack = new SubtreeStack();
  for (const root of roots) stack.push(subtree, root);
  return commPResult(stack.fillTo(paddedSize), paddedSize, size);
}
