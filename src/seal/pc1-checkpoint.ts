/**
 * The PC1 checkpoint: a small JSON record in the sector's cache directory
 * (`pc1-checkpoint.json`) naming the inputs of the PC1 run and, for every finished layer, the
 * size and SHA-256 of its layer file. It is rewritten durably (src/fs/durable.ts) after each
 * layer file is durable, so after a crash it never claims a
 * layer that is not on disk. A resumed PC1 trusts a layer only if the record's inputs match
 * and the file still has the recorded size and digest.
 */
import { createHash } from 'node:crypto';
import { constants, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../fs/durable.js';

/** File name of the checkpoint in the cache directory. */
export const PC1_CHECKPOINT_FILE = 'pc1-checkpoint.json';

/** What identifies a PC1 run: any difference means the finished layers belong to another run. */
export interface Pc1RunIdentity {
  readonly proof: number;
  readonly nodes: number;
  readonly layers: number;
  /** Hex of the 32-byte porep id. */
  readonly porepId: string;
  /** Hex of the replica id (it already covers miner, sector number, ticket, CommD, porep id). */
  readonly replicaId: string;
  readonly ticket: string;
  readonly commD: string;
  readonly minerId: number;
  readonly sectorNumber: number;
}

/** One finished layer file. */
export interface Pc1LayerRecord {
  /** 1-based layer number. */
  readonly layer: number;
  readonly size: number;
  /** SHA-256 (hex) of the whole layer file. */
  readonly sha256: string;
}

/** The persisted checkpoint record (v1). */
export interface Pc1Checkpoint extends Pc1RunIdentity {
  readonly v: 1;
  /** Finished layers, in order from layer 1, without gaps. */
  readonly done: readonly Pc1LayerRecord[];
}

const IDENTITY_KEYS = [
  'proof',
  'nodes',
  'layers',
  'porepId',
  'replicaId',
  'ticket',
  'commD',
  'minerId',
  'sectorNumber',
] as const satisfies readonly (keyof Pc1RunIdentity)[];

/** True when the checkpoint was written by a run with exactly these inputs. */
export function sameRun(cp: Pc1Checkpoint, id: Pc1RunIdentity): boolean {
  return IDENTITY_KEYS.every((k) => cp[k] === id[k]);
}

/** Reads the checkpoint of a cache directory; undefined when absent or unreadable. */
export async function readCheckpoint(cacheDir: string): Promise<Pc1Checkpoint | undefined> {
  let raw: string;
  try {
    raw = await readFile(join(cacheDir, PC1_CHECKPOINT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const cp = JSON.parse(raw) as Partial<Pc1Checkpoint>;
    if (cp.v !== 1 || !Array.isArray(cp.done)) return undefined;
    const okLayers = cp.done.every(
      (d, i) => d !== null && typeof d === 'object' && d.layer === i + 1 && Number.isSafeInteger(d.size) && typeof d.sha256 === 'string',
    );
    return okLayers ? (cp as Pc1Checkpoint) : undefined;
  } catch {
    return undefined; // a torn or foreign file: treated as no checkpoint (start over)
  }
}

/** Removes the checkpoint (start over). */
export async function removeCheckpoint(cacheDir: string): Promise<void> {
  await rm(join(cacheDir, PC1_CHECKPOINT_FILE), { force: true });
}

/** Writes the checkpoint atomically. */
export async function writeCheckpoint(cacheDir: string, cp: Pc1Checkpoint): Promise<void> {
  await writeFileDurable(join(cacheDir, PC1_CHECKPOINT_FILE), `${JSON.stringify(cp, null, 2)}\n`);
}

/**
 * Size and SHA-256 of a file, reading it in chunks. When `into` is a buffer (exactly the file's
 * expected size) the bytes are also read into it, so a resumed PC1 loads and checks its
 * previous layer in one pass; when it is a function, it is given each chunk read (`chunkBytes`
 * each but the last) and the chunk's offset in the file, before the digest is known (a PC1 batch
 * interleaves a sector's layer into the batch's buffer this way).
 * Returns undefined if the file is missing or has another size.
 */
export async function fileDigest(
  path: string,
  expectedSize: number,
  into?: Uint8Array | ((chunk: Uint8Array, offset: number) => void),
  chunkBytes = 8 << 20,
): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    if ((await fh.stat()).size !== expectedSize) return undefined;
    const h = createHash('sha256');
    const direct = into instanceof Uint8Array ? into : undefined;
    const scratch = direct ? undefined : new Uint8Array(Math.min(expectedSize, chunkBytes));
    for (let pos = 0; pos < expectedSize; ) {
      const end = Math.min(expectedSize, pos + chunkBytes);
      const target = direct ? direct.subarray(pos, end) : scratch!.subarray(0, end - pos);
      for (let got = 0; got < target.length; ) {
        const { bytesRead } = await fh.read(target, got, target.length - got, pos + got);
        if (bytesRead === 0) return undefined;
        got += bytesRead;
      }
      h.update(target);
      if (typeof into === 'function') into(target, pos);
      pos = end;
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}
