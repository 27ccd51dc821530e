/**
 * The check PC2 makes before it trusts PC1's layers: every layer file named by the PC1 output
 * still exists, has the sector's size and hashes (SHA-256) to the digest PC1 recorded. PC2 reads
 * the layers once and a damaged label would only show as a CommR nobody can prove, so a layer
 * deleted or changed between the phases fails here, naming the file, and the sector goes back to
 * PC1 (Lotus's SealPreCommit2Failed rule) instead of sealing garbage.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError, FileNotFoundError, FileUnreadableError, InvalidArgumentError } from '../errors.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import type { PreCommit1Output } from './pc1.js';

const CHUNK = 8 << 20;
const noContext: TaskContext = { progress() {}, cancelled: false, throwIfCancelled() {} };

/**
 * Checks every layer file of `pc1` in `cacheDir` against `pc1.layerDigests`. Reports
 * `{ phase: 'layer-check', done, total }` in bytes and checks for cancellation between chunks.
 * @throws FileNotFoundError (a layer file is missing), CacheCorruptError (wrong size or digest)
 */
export async function checkLayerDigests(pc1: PreCommit1Output, cacheDir: string, ctx: TaskContext = noContext): Promise<void> {
  if (pc1.layerDigests.length !== pc1.layerFiles.length) {
    throw new InvalidArgumentError(`PC1 output lists ${pc1.layerFiles.length} layer files but ${pc1.layerDigests.length} digests`);
  }
  const total = pc1.layerFiles.length * pc1.sectorSize;
  const buf = new Uint8Array(Math.min(CHUNK, pc1.sectorSize));
  let done = 0;
  for (const [i, name] of pc1.layerFiles.entries()) {
    const path = join(cacheDir, name);
    const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FileNotFoundError(`layer file ${path} does not exist`, { cause: err });
      throw new FileUnreadableError(`layer file ${path} cannot be opened: ${err.message}`, { cause: err });
    });
    try {
      const size = (await fh.stat()).size;
      if (size !== pc1.sectorSize) throw new CacheCorruptError(`layer file ${path} is ${size} bytes, expected ${pc1.sectorSize}`);
      const hash = createHash('sha256');
      for (let pos = 0; pos < size; ) {
        ctx.throwIfCancelled();
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) throw new CacheCorruptError(`layer file ${path} ended early at byte ${pos}`);
        hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
        done += bytesRead;
        ctx.progress({ phase: 'layer-check', done, total, detail: name });
      }
      const digest = hash.digest('hex');
      if (digest !== pc1.layerDigests[i]) {
        throw new CacheCorruptError(`layer file ${path} has SHA-256 ${digest}, PC1 recorded ${pc1.layerDigests[i]}`);
      }
    } finally {
      await fh.close();
    }
  }
}
