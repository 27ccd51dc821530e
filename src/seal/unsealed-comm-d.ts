/**
 * CommD of an unsealed sector file: the root of the SHA-256 (trunc254) binary tree over its
 * first `sectorSize` bytes, which hold the fr32-padded data (a Lotus unsealed file may carry a
 * partial-file trailer after them; unallocated ranges read as zeros). Streams the file in
 * power-of-two chunks, takes each chunk's subtree root natively, then the root over those.
 */
import { constants, open } from 'node:fs/promises';
import { treeRoot } from '../../native/hash.js';
import { FileNotFoundError, FileUnreadableError } from '../errors.js';
import type { TaskContext } from '../lifecycle/task-context.js';

/** Chunk of the unsealed file hashed at a time (a power of two). */
const CHUNK = 4 << 20;

/** CommD (32 raw bytes) of the first `sectorSize` bytes of `path`. */
export async function unsealedCommD(path: string, sectorSize: number, ctx?: TaskContext): Promise<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(`unsealed file ${path} does not exist`, { cause: err });
    throw new FileUnreadableError(`unsealed file ${path} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    if (size < sectorSize) {
      throw new FileUnreadableError(`unsealed file ${path} holds ${size} bytes, less than the sector size ${sectorSize}`);
    }
    const chunk = Math.min(CHUNK, sectorSize);
    const buf = new Uint8Array(chunk);
    const roots = new Uint8Array((sectorSize / chunk) * 32);
    for (let pos = 0, i = 0; pos < sectorSize; pos += chunk, i++) {
      ctx?.throwIfCancelled();
      let got = 0;
      while (got < chunk) {
        const { bytesRead } = await fh.read(buf, got, chunk - got, pos + got);
        if (bytesRead === 0) throw new FileUnreadableError(`unsealed file ${path} ended early at ${pos + got}`);
        got += bytesRead;
      }
      roots.set(treeRoot(buf), i * 32);
      ctx?.progress({ phase: 'commd', done: pos + chunk, total: sectorSize });
    }
    return roots.length === 32 ? roots : treeRoot(roots);
  } finally {
    await fh.close();
  }
}
