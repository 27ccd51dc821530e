/**
 * SealPreCommit2 (rust-fil-proofs `seal_pre_commit_phase2`):
 * from the unsealed data and the PC1 layer files it builds
 *
 *  - tree_d (SHA-256 binary tree over the padded data; its root must equal PC1's CommD),
 *  - the column hashes `C[v] = Poseidon_layers(L_1[v], …, L_n[v])` and tree_c over them,
 *  - the replica `R[v] = data[v] + L_last[v] mod r`, written as the sealed file,
 *  - tree_r_last over the replica,
 *
 * and the commitments comm_c, comm_r_last, `comm_r = Poseidon2(comm_c, comm_r_last)`.
 *
 * Everything streams: one chunk of nodes (default 2^18 = 8 MiB per buffer) of the data and of
 * every layer is in memory at a time, whatever the sector size. Files are written under temp
 * names and renamed only once everything succeeded (so a failed or cancelled PC2 leaves no
 * half-written sealed file or tree behind).
 *
 * `p_aux` is the 64 bytes comm_c ‖ comm_r_last, as upstream. `t_aux` is **our own JSON** listing
 * the stores (path, id, size, rows_to_discard) of labels, tree_d, tree_c and tree_r_last; the
 * upstream file is bincode of a Rust struct (`TemporaryAux`) whose exact bytes were not
 * re-derived, so a Lotus/rust-fil-proofs process cannot read ours, nor we theirs.
 */
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { columnHashes, encodeNodes } from '../../native/poseidon.js';
import { DurableTempFile, writeFileDurable } from '../fs/durable.js';
import { CacheCorruptError, FileNotFoundError, FileUnreadableError, InvalidArgumentError } from '../errors.js';
import { commR as computeCommR } from '../merkle/sector-trees.js';
import { buildThreads, TreeBuilder } from '../merkle/tree-builder.js';
import { baseTreeFileSize, sealTreeShapes, type TreeShape, treeFileNames } from '../merkle/tree-shape.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { type SealProofInfo, sealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../sector/layout.js';
import { commDToCid, commRToCid } from './commitment-cid.js';
import type { PreCommit1Output } from './pc1.js';

/** Paths PC2 works on. */
export interface PreCommit2Paths {
  /** The sector's cache directory (holds the PC1 layers; receives trees, p_aux, t_aux). */
  cacheDir: string;
  /** Where the sealed replica goes. */
  sealedPath: string;
  /** The unsealed sector file (padded data in its first sectorSize bytes). */
  unsealedPath: string;
}

/** Options of {@link sealPreCommit2}. */
export interface PreCommit2Options {
  /** Nodes per chunk (must divide the node count). @default 262144 (8 MiB per buffer) */
  chunkNodes?: number;
  /**
   * Native threads the Poseidon work (column hashes, tree_c and tree_r_last rows) is split
   * across; the outputs do not depend on it. Lotus gives PC2 every core (MaxParallelism −1).
   * @default os.availableParallelism()
   */
  threads?: number;
}

/** Result of PC2. */
export interface PreCommit2Output {
  commD: CID;
  commR: CID;
  /** Raw commitments (LE field elements), for callers that need bytes. */
  raw: { commD: Uint8Array; commR: Uint8Array; commC: Uint8Array; commRLast: Uint8Array };
}

const DEFAULT_CHUNK = 1 << 18;
const noContext: TaskContext = { progress() {}, cancelled: false, throwIfCancelled() {} };

function fromHex(name: string, v: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/i.test(v)) throw new InvalidArgumentError(`pc1Output.${name} must be 64 hex digits`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

async function openRead(path: string, what: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(`${what} ${path} does not exist`, { cause: err });
    throw new FileUnreadableError(`${what} ${path} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number, what: string): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) throw new FileUnreadableError(`${what} ended early at byte ${position + got}`);
    got += bytesRead;
  }
}

async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Our t_aux document (see the module comment). */
export interface TemporaryAux {
  v: 1;
  encoding: 'sector-storage-json';
  note: string;
  labels: StoreConfig[];
  treeD: StoreConfig;
  treeC: StoreConfig[];
  treeRLast: StoreConfig[];
}

/** merkletree's StoreConfig, as JSON: directory, id, node count, rows_to_discard. */
export interface StoreConfig {
  path: string;
  id: string;
  file: string;
  size: number;
  rowsToDiscard: number;
}

function tAux(info: SealProofInfo, shapes: ReturnType<typeof sealTreeShapes>, cacheDir: string): TemporaryAux {
  const stores = (shape: TreeShape, id: string) =>
    treeFileNames(shape).map((file) => ({
      path: cacheDir,
      id,
      file,
      size: baseTreeFileSize(shape) / 32,
      rowsToDiscard: shape.storeFrom === 0 ? 0 : shape.storeFrom - 1,
    }));
  return {
    v: 1,
    encoding: 'sector-storage-json',
    note: 'JSON description of the stores; not the bincode TemporaryAux of rust-fil-proofs',
    labels: Array.from({ length: info.layers }, (_, i) => ({
      path: cacheDir,
      id: `layer-${i + 1}`,
      file: CacheFile.layer(i + 1),
      size: info.nodes,
      rowsToDiscard: 0,
    })),
    treeD: stores(shapes.treeD, 'tree-d')[0]!,
    treeC: stores(shapes.treeC, 'tree-c'),
    treeRLast: stores(shapes.treeRLast, 'tree-r-last'),
  };
}

/**
 * Runs PC2 for a sector labelled by PC1. Reports `{ phase: 'pc2', done, total }` in nodes and
 * checks for cancellation between chunks. Throws CacheCorruptError when the unsealed data no
 * longer hashes to PC1's CommD.
 */
export async function sealPreCommit2(
  pc1: PreCommit1Output,
  paths: PreCommit2Paths,
  ctx: TaskContext = noContext,
  options: PreCommit2Options = {},
): Promise<PreCommit2Output> {
  const info = sealProofInfo(pc1.proof);
  if (pc1.layerFiles.length !== info.layers) {
    throw new InvalidArgumentError(`pc1Output lists ${pc1.layerFiles.length} layers, ${info.name} has ${info.layers}`);
  }
  const expectedCommD = fromHex('commD', pc1.commD);
  const shapes = sealTreeShapes(info);
  const chunk = Math.min(options.chunkNodes ?? DEFAULT_CHUNK, info.nodes);
  if (!Number.isSafeInteger(chunk) || chunk < 1 || info.nodes % chunk !== 0) {
    throw new InvalidArgumentError(`options.chunkNodes ${chunk} must divide the sector's ${info.nodes} nodes`);
  }
  const threads = buildThreads(options);
  const { cacheDir } = paths;
  await mkdir(cacheDir, { recursive: true });
  await mkdir(dirname(paths.sealedPath), { recursive: true });

  const inputs: FileHandle[] = [];
  const outputs: DurableTempFile[] = [];
  const builders: TreeBuilder[] = [];
  try {
    const unsealed = await openRead(paths.unsealedPath, 'unsealed file');
    inputs.push(unsealed);
    if ((await unsealed.stat()).size < info.sectorSize) {
      throw new FileUnreadableError(`unsealed file ${paths.unsealedPath} is shorter than the sector (${info.sectorSize} bytes)`);
    }
    const layerHandles: FileHandle[] = [];
    for (const name of pc1.layerFiles) {
      const h = await openRead(join(cacheDir, name), 'layer file');
      inputs.push(h);
      if ((await h.stat()).size !== info.sectorSize) throw new CacheCorruptError(`layer file ${name} is not ${info.sectorSize} bytes`);
      layerHandles.push(h);
    }
    const sealed = await DurableTempFile.open(paths.sealedPath);
    outputs.push(sealed);
    const treeD = await TreeBuilder.create(shapes.treeD, cacheDir);
    builders.push(treeD);
    const treeC = await TreeBuilder.create(shapes.treeC, cacheDir, { threads });
    builders.push(treeC);
    const treeR = await TreeBuilder.create(shapes.treeRLast, cacheDir, { threads });
    builders.push(treeR);

    const bytes = chunk * 32;
    const data = new Uint8Array(bytes);
    const layerBufs = layerHandles.map(() => new Uint8Array(bytes));
    const columns = new Uint8Array(bytes);
    const replica = new Uint8Array(bytes);
    for (let node = 0; node < info.nodes; node += chunk) {
      ctx.throwIfCancelled();
      const pos = node * 32;
      await readFully(unsealed, data, pos, `unsealed file ${paths.unsealedPath}`);
      for (let i = 0; i < layerHandles.length; i++) await readFully(layerHandles[i]!, layerBufs[i]!, pos, pc1.layerFiles[i]!);
      await treeD.push(data);
      columnHashes(layerBufs, columns, { threads });
      await treeC.push(columns);
      encodeNodes(data, layerBufs[layerBufs.length - 1]!, replica);
      await writeFully(sealed.handle, replica, pos);
      await treeR.push(replica);
      ctx.progress({ phase: 'pc2', done: node + chunk, total: info.nodes });
    }
    // check the data before any file gets its real name
    const commD = (await treeD.finish()).root;
    if (Buffer.compare(commD, expectedCommD) !== 0) {
      await rm(join(cacheDir, CacheFile.treeD), { force: true });
      throw new CacheCorruptError(
        `unsealed file ${paths.unsealedPath} hashes to CommD ${Buffer.from(commD).toString('hex')}, PC1 used ${pc1.commD}`,
      );
    }
    const commC = (await treeC.finish()).root;
    const commRLast = (await treeR.finish()).root;
    builders.length = 0;
    const pAux = new Uint8Array(64);
    pAux.set(commC, 0);
    pAux.set(commRLast, 32);
    const commR = computeCommR(commC, commRLast);

    for (const f of outputs) await f.commit();
    outputs.length = 0;
    await writeFileDurable(join(cacheDir, CacheFile.pAux), pAux);
    const tAuxJson = new TextEncoder().encode(`${JSON.stringify(tAux(info, shapes, cacheDir), null, 2)}\n`);
    await writeFileDurable(join(cacheDir, CacheFile.tAux), tAuxJson);
    return { commD: commDToCid(commD), commR: commRToCid(commR), raw: { commD, commR, commC, commRLast } };
  } finally {
    await Promise.all(builders.map((b) => b.abort()));
    await Promise.all(outputs.map((f) => f.discard()));
    await Promise.all(inputs.map((h) => h.close().catch(() => {})));
  }
}
