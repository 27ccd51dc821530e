/**
 * Reading a range of a sector's unsealed data wherever a copy has it (Lotus `stores/remote.go`
 * `Reader` and `CheckIsUnsealed`): a local unsealed file whose range is allocated is read
 * directly; otherwise each remote holder (best weight first) is asked whether the range is
 * allocated (`GET <url>/<seal proof>/allocated/<unpadded offset>/<unpadded size>`: 200 yes, 416
 * no), and the first that has it serves the padded bytes with a `Range` request. A node can
 * so read a piece out of another node's unsealed copy without fetching the whole file.
 *
 * Unlike Lotus, a holder's answer must be the requested range (206 with that `Content-Range`; a
 * 200 would be the whole file from byte 0, which Lotus hands to the caller as if it were the
 * range) and its body must be exactly as long as asked (a short one is an error, not a short read).
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { AbortedError, FetchFailedError, InvalidArgumentError } from '../errors.js';
import { PartialFile } from '../partial/partial-file.js';
import { sealProofInfo } from '../sector/proofs.js';
import { FileType, type SectorRef, sectorName } from '../sector/sector-id.js';
import { unpaddedIndex } from '../sector/sizes.js';
import type { CatalogClient } from './catalog-client.js';
import { type Limiter, readText, sendRequest } from './http-client.js';
import type { LocalStore } from './local-store.js';
import type { SectorStorageInfo } from './storage-types.js';
import type { Logger } from '../log/logger.js';

/** What the reader needs of a remote store. */
export interface UnsealedReaderDeps {
  local: LocalStore;
  catalog: CatalogClient;
  /** The node's fetch limiter (remote reads and fetches share it, as in Lotus). */
  limiter: Limiter;
  headers: (extra?: Record<string, string>) => Record<string, string>;
  /** A holder that sends nothing for this long (before its answer, or in a probe's body) fails. */
  idleMs: number;
  log: Logger;
}

/** Validates a padded range of a sector: offset and size multiples of 128, size > 0, inside the sector. */
export function checkPaddedRange(ref: SectorRef, offset: number, size: number): void {
  const ssize = sealProofInfo(ref.proofType).sectorSize;
  unpaddedIndex(offset);
  if (!Number.isSafeInteger(size) || size <= 0 || size % 128 !== 0) {
    throw new InvalidArgumentError(`padded size ${size} must be a positive multiple of 128`);
  }
  if (offset + size > ssize) {
    throw new InvalidArgumentError(`padded range [${offset}, ${offset + size}) ends past the ${ssize}-byte sector ${sectorName(ref.id)}`);
  }
}

/** True when the local unsealed file has the padded range allocated (false without a local file). */
async function localHas(deps: UnsealedReaderDeps, ref: SectorRef, offset: number, size: number): Promise<string | undefined> {
  const found = await deps.local.findLocal(ref.id, 'unsealed');
  if (!found) return undefined;
  const pf = await PartialFile.open(found.path, sealProofInfo(ref.proofType).sectorSize, { readOnly: true });
  try {
    return pf.isAllocated(offset, size) ? found.path : undefined;
  } finally {
    await pf.close();
  }
}

/** Remote holders of the unsealed file, best weight first, without this node's own paths. */
async function remoteHolders(deps: UnsealedReaderDeps, ref: SectorRef): Promise<SectorStorageInfo[]> {
  const holders = await deps.catalog.storageFindSector(ref.id, FileType.unsealed, 0, false);
  return holders
    .filter((h) => deps.local.localRoot(h.ID) === undefined)
    .sort((a, b) => b.Weight - a.Weight || Number(b.Primary) - Number(a.Primary));
}

/** The allocated probe of one holder URL: true (200), false (416); anything else throws. */
async function probe(deps: UnsealedReaderDeps, url: string, ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<boolean> {
  const res = await sendRequest(`${url}/${ref.proofType}/allocated/${unpaddedIndex(offset)}/${unpaddedIndex(size)}`, { headers: deps.headers(), signal, idleMs: deps.idleMs });
  const text = await readText(res);
  if (res.statusCode === 200) return true;
  if (res.statusCode === 416) return false;
  throw new FetchFailedError(`allocated probe ${url}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
}

/**
 * Whether the padded range `[offset, offset+size)` of the unsealed file is allocated on a local
 * copy or on any remote holder (probe errors are logged and skipped).
 */
export async function isUnsealed(deps: UnsealedReaderDeps, ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<boolean> {
  checkPaddedRange(ref, offset, size);
  if ((await localHas(deps, ref, offset, size)) !== undefined) return true;
  for (const h of await remoteHolders(deps, ref)) {
    for (const url of h.URLs) {
      try {
        if (await probe(deps, url, ref, offset, size, signal)) return true;
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        deps.log.warn(`allocated probe ${url}: ${(err as Error).message}`);
      }
    }
  }
  return false;
}

/**
 * The padded bytes `[offset, offset+size)` of the sector's unsealed data as a stream, from the
 * first copy that has the range allocated (local first); null when no copy has it. A holder that
 * fails is logged and the next one tried.
 */
export async function readUnsealed(
  deps: UnsealedReaderDeps,
  ref: SectorRef,
  offset: number,
  size: number,
  signal?: AbortSignal,
): Promise<AsyncGenerator<Uint8Array> | null> {
  checkPaddedRange(ref, offset, size);
  const path = await localHas(deps, ref, offset, size);
  if (path !== undefined) return exactly(createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: 1 << 20, ...(signal ? { signal } : {}) }), size, path, false);
  const holders = await remoteHolders(deps, ref);
  if (holders.length === 0) return null;
  for (const h of holders) {
    for (const url of h.URLs) {
      try {
        if (!(await probe(deps, url, ref, offset, size, signal))) continue;
        const res = await rangeRequest(deps, url, offset, size, signal);
        return exactly(res, size, url, signal ? { signal } : {});
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        deps.log.warn(`reading ${sectorName(ref.id)} [${offset}, ${offset + size}) from ${url}: ${(err as Error).message}`);
      }
    }
  }
  return null;
}

async function rangeRequest(deps: UnsealedReaderDeps, url: string, offset: number, size: number, signal?: AbortSignal): Promise<IncomingMessage> {
  const release = await deps.limiter.acquire(signal);
  try {
    // the body goes to the caller, who may pause it: only the wait for the answer is timed
    const res = await sendRequest(url, { headers: deps.headers({ Range: `bytes=${offset}-${offset + size - 1}` }), signal, idleMs: deps.idleMs, idleBody: false });
    const range = String(res.headers['content-range'] ?? '');
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range);
    if (res.statusCode !== 206 || !m || Number(m[1]) !== offset || Number(m[2]) !== offset + size - 1) {
      const body = res.statusCode === 206 ? '' : await readText(res, 4096).catch(() => '');
      res.destroy();
      throw new FetchFailedError(`${url}: expected 206 for bytes ${offset}-${offset + size - 1}, got HTTP ${res.statusCode} ${range ? `(${range}) ` : ''}${body.slice(0, 200)}`.trim());
    }
    return res;
  } finally {
    release();
  }
}

/**
 * Passes a byte stream through, failing with FetchFailedError if it is shorter or longer than
 * `size`. A response body (`remote`) that breaks off is a cut range too (FetchFailedError, not a
 * raw socket error), or AbortedError when the caller's signal stopped it.
 */
async function* exactly(source: AsyncIterable<Buffer | Uint8Array>, size: number, what: string, remote: { signal?: AbortSignal } | false): AsyncGenerator<Uint8Array> {
  let n = 0;
  try {
    for await (const chunk of source) {
      n += chunk.length;
      if (n > size) throw new FetchFailedError(`${what}: sent more than the ${size} bytes asked for`);
      yield chunk;
    }
  } catch (err) {
    if (!remote || err instanceof FetchFailedError || err instanceof AbortedError) throw err;
    if (remote.signal?.aborted) throw new AbortedError(`reading ${what} was cancelled`, { cause: err });
    throw new FetchFailedError(`${what}: the range was cut off after ${n} of ${size} bytes (${(err as Error).message})`, { cause: err });
  }
  if (n !== size) throw new FetchFailedError(`${what}: the range ended after ${n} of ${size} bytes`);
}
