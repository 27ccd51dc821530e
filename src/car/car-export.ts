/**
 * A DAG written out as a CARv1 stream (the CAR specification; what a trustless gateway's
 * `application/vnd.ipld.car` response and `retrieve --out FILE.car` carry): the header
 * `{roots: [root], version: 1}` in dag-cbor, then every block reachable from the root once, in
 * depth-first order, each section `uvarint(len) ‖ CID ‖ bytes`. Links are found by codec: dag-pb
 * (its Links), dag-cbor (every CID in the value), raw and unknown codecs have none. Identity
 * CIDs carry their bytes and are not written.
 */
import * as dagCbor from '@ipld/dag-cbor';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import { varint } from 'multiformats';

const DAG_PB = 0x70;
const DAG_CBOR = 0x71;

function uvarint(n: number): Uint8Array {
  const out = new Uint8Array(varint.encodingLength(n));
  varint.encodeTo(n, out);
  return out;
}

/** The CIDs a block links to, in order. */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === DAG_PB) return dagPb.decode(bytes).Links.map((l) => l.Hash);
  if (cid.code === DAG_CBOR) {
    const out: CID[] = [];
    const walk = (v: unknown): void => {
      const asCid = CID.asCID(v);
      if (asCid) out.push(asCid);
      else if (Array.isArray(v)) for (const x of v) walk(x);
      else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const x of Object.values(v)) walk(x);
    };
    walk(dagCbor.decode(bytes));
    return out;
  }
  return [];
}

/** The CARv1 header of `roots`. */
export function carHeader(roots: readonly CID[]): Uint8Array {
  const header = dagCbor.encode({ roots: [...roots], version: 1 });
  return Buffer.concat([uvarint(header.length), header]);
}

/** One CAR section. */
export function carSection(cid: CID, bytes: Uint8Array): Uint8Array {
  return Buffer.concat([uvarint(cid.bytes.length + bytes.length), cid.bytes, bytes]);
}

/**
 * The DAG under `root` as CARv1 bytes, reading blocks with `get` (which throws for a block it
 * does not have: the stream fails there).
 */
export async function* exportDag(root: CID, get: (cid: CID) => Promise<Uint8Array>, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  yield carHeader([root]);
  const seen = new Set<string>();
  const stack: CID[] = [root];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const cid = stack.pop()!;
    const key = cid.toString();
    if (seen.has(key) || cid.multihash.code === 0x00) continue;
    seen.add(key);
    const bytes = await get(cid);
    yield carSection(cid, bytes);
    const links = linksOf(cid, bytes);
    for (let i = links.length - 1; i >= 0; i--) stack.push(links[i]!);
  }
}
