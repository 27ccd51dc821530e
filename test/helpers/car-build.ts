/**
 * CAR files built for tests with @ipld/car's own writer and multiformats' hashers (not by hand):
 * raw blocks hashed with a chosen hasher, a dag-cbor root linking them, written as a CARv1.
 */
import { CarWriter } from '@ipld/car/writer';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import type { MultihashHasher } from 'multiformats/hashes/interface';
import { sha256 } from 'multiformats/hashes/sha2';

export interface TestBlock {
  cid: CID;
  bytes: Uint8Array;
}

/** A raw block of `bytes` hashed with `hasher` (sha2-256 by default). */
export async function rawBlock(bytes: Uint8Array, hasher: MultihashHasher = sha256): Promise<TestBlock> {
  return { cid: CID.create(1, raw.code, await hasher.digest(bytes)), bytes };
}

/** A dag-cbor block `{leaves: [...links]}` (sha2-256). */
export async function linkBlock(links: readonly CID[]): Promise<TestBlock> {
  const bytes = dagCbor.encode({ leaves: [...links] });
  return { cid: CID.create(1, dagCbor.code, await sha256.digest(bytes)), bytes };
}

/** The CARv1 bytes of `blocks` under `roots`, as @ipld/car's CarWriter writes them. */
export async function carBytes(roots: readonly CID[], blocks: readonly TestBlock[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create([...roots]);
  const chunks: Uint8Array[] = [];
  const collected = (async () => {
    for await (const c of out) chunks.push(c);
  })();
  for (const b of blocks) await writer.put(b);
  await writer.close();
  await collected;
  return Buffer.concat(chunks);
}

/** A DAG of `leaves` raw blocks (hashed with `hasher`) under a dag-cbor root, as a CARv1: its bytes, root and blocks. */
export async function dagCar(leaves: readonly Uint8Array[], hasher: MultihashHasher = sha256): Promise<{ car: Uint8Array; root: CID; blocks: TestBlock[] }> {
  const leafBlocks = await Promise.all(leaves.map((l) => rawBlock(l, hasher)));
  const root = await linkBlock(leafBlocks.map((b) => b.cid));
  const blocks = [root, ...leafBlocks];
  return { car: await carBytes([root.cid], blocks), root: root.cid, blocks };
}
