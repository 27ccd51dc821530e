/**
 * A plain file as a UnixFS DAG written as a CARv1 (what `ipfs add` / `ipfs dag export` would give),
 * with the well-kept ipfs-unixfs-importer building the DAG (IPIP-499 profile `unixfs-v1-2025`:
 * CIDv1, raw leaves, 1 MiB chunks, balanced layout of 1024 links). Blocks are streamed to a
 * temporary sections file as the importer writes them, then the header with the root and the
 * sections are written to `outPath` (through a temporary file renamed into place).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { importFile } from 'ipfs-unixfs-importer';
import type { CID } from 'multiformats/cid';
import { DurableTempFile } from '../fs/durable.js';
import { carHeader, carSection } from './car-export.js';

/** Writes `inPath` as a UnixFS CARv1 at `outPath`; returns its root and block count. */
export async function fileToUnixfsCar(inPath: string, outPath: string, options: { signal?: AbortSignal } = {}): Promise<{ root: CID; blocks: number }> {
  const sectionsPath = `${outPath}.sections`;
  const sections = createWriteStream(sectionsPath);
  let blocks = 0;
  try {
    const store = {
      async put(cid: CID, bytes: Uint8Array) {
        options.signal?.throwIfAborted();
        blocks++;
        if (!sections.write(carSection(cid, bytes))) await once(sections, 'drain');
        return cid;
      },
    };
    const result = await importFile({ content: createReadStream(inPath, { highWaterMark: 1 << 20 }) }, store, { profile: 'unixfs-v1-2025', wrapWithDirectory: false });
    sections.end();
    await once(sections, 'finish');
    const out = await DurableTempFile.open(outPath);
    try {
      await out.handle.write(carHeader([result.cid]));
      for await (const chunk of createReadStream(sectionsPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) await out.handle.write(chunk);
      await out.commit();
    } catch (err) {
      await out.discard();
      throw err;
    }
    return { root: result.cid, blocks };
  } finally {
    sections.destroy();
    await rm(sectionsPath, { force: true });
  }
}
