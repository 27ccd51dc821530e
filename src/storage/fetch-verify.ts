/**
 * Checking the bytes a download kept on disk before a resume relies on them (fetch-engine.ts):
 * what the progress record claims is compared, 4 MiB chunk by chunk, with the holder's SHA-256
 * of the same chunks (the `digests` route of fetch-protocol.ts); only matching chunks are kept,
 * so bytes a power loss took or changed are fetched again. A holder without that route (Lotus)
 * gets a weaker check: only ranges the record says were flushed count, and only if the last
 * chunk of each, fetched again, equals the bytes on disk.
 */
import type { FileHandle } from 'node:fs/promises';
import { AbortedError, FetchFailedError } from '../errors.js';
import { type ByteRange, mergeRanges } from './fetch-journal.js';
import { chunkDigests, DIGEST_BYTES, DIGEST_CHUNK, digestsUrl } from './fetch-protocol.js';
import { BufferSink, checkRangeHead, get, type TransportOptions } from './fetch-transport.js';
import { sendRequest } from './http-client.js';
import type { Logger } from '../log/logger.js';

/**
 * Bytes of a file whose digests one request asks for: the holder reads and hashes that much
 * before it answers, so a window keeps each answer within seconds (and inside the idle timeout)
 * however large the file.
 */
export const DIGEST_WINDOW = 256 * DIGEST_CHUNK;

/** The file being checked. */
export interface CheckedFile {
  url: string;
  path: string;
  size: number;
  fh?: FileHandle;
}

/** What a progress record claims for a file. */
export interface Claim {
  /** Ranges flushed to disk before the record was made. */
  synced: ByteRange[];
  /** Ranges written (flushed or not). */
  written: ByteRange[];
}

/** Where the check reports how it was done and what it fetched. */
export interface CheckStats {
  check: 'digests' | 'last-chunk' | 'none';
  received: number;
}

/**
 * The part of a claim that holds the holder's bytes: whole digest chunks of the written ranges
 * whose SHA-256 equals the holder's; without the digests route, the flushed ranges if the last
 * chunk of each, re-read from the holder, equals the bytes on disk, and nothing otherwise.
 * Records in `stats` how it checked and what it received. `digestWindow` (a multiple of the
 * digest chunk, default {@link DIGEST_WINDOW}) is the most one digests request covers.
 */
export async function verifyClaim(
  t: CheckedFile,
  claim: Claim,
  o: TransportOptions & { log: Logger; digestWindow?: number },
  stats: CheckStats,
): Promise<ByteRange[]> {
  const window = o.digestWindow ?? DIGEST_WINDOW;
  const kept: ByteRange[] = [];
  for (const [s, e] of mergeRanges([...claim.written, ...claim.synced])) {
    const from = Math.ceil(s / DIGEST_CHUNK) * DIGEST_CHUNK;
    const to = e === t.size ? e : Math.floor(e / DIGEST_CHUNK) * DIGEST_CHUNK;
    for (let w = from; w < to; w += window) {
      const end = Math.min(to, w + window);
      const theirs = await remoteDigests(t, w, end - w, o);
      if (theirs === undefined) return verifyByLastChunk(t, claim.synced, o, stats);
      stats.check = 'digests';
      const ours = await chunkDigests(t.path, w, end - w, o.signal).catch(() => Buffer.alloc(0));
      for (let i = 0; i * DIGEST_CHUNK < end - w; i++) {
        const a = ours.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
        const b = theirs.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
        if (a.length === DIGEST_BYTES && a.equals(b)) kept.push([w + i * DIGEST_CHUNK, Math.min(end, w + (i + 1) * DIGEST_CHUNK)]);
      }
    }
  }
  return mergeRanges(kept);
}

/** The holder's digests of a range, or undefined when it has no digests route. */
async function remoteDigests(t: CheckedFile, offset: number, length: number, o: TransportOptions): Promise<Buffer | undefined> {
  const url = digestsUrl(t.url, offset, length);
  const res = await sendRequest(url, { headers: o.headers(), signal: o.signal, idleMs: o.idleMs });
  const want = Math.ceil(length / DIGEST_CHUNK) * DIGEST_BYTES;
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > want) {
      res.destroy();
      break;
    }
    parts.push(c);
  }
  if (res.statusCode !== 200) return undefined;
  const body = Buffer.concat(parts);
  if (body.length !== want) throw new FetchFailedError(`${url}: ${body.length} bytes of digests, expected ${want}`);
  return body;
}

/** The flushed ranges, if the last chunk of each equals the holder's bytes; else nothing. */
async function verifyByLastChunk(t: CheckedFile, claimed: ByteRange[], o: TransportOptions & { log: Logger }, stats: CheckStats): Promise<ByteRange[]> {
  stats.check = 'last-chunk';
  const ranges = mergeRanges(claimed);
  for (const [s, e] of ranges) {
    const from = Math.max(s, e - DIGEST_CHUNK);
    const theirs = new BufferSink(e - from);
    const local = Buffer.alloc(e - from);
    try {
      const r = await get(t.url, o, { Range: `bytes=${from}-${e - 1}` }, (head) => {
        checkRangeHead(t.url, t.size, head, from, e);
        return { sink: theirs };
      });
      stats.received += r.received;
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      o.log.warn(`${t.url}: checking the kept bytes failed (${(err as Error).message}); starting over`);
      return [];
    }
    await (t.fh as FileHandle).read(local, 0, local.length, from);
    if (!local.equals(theirs.bytes)) {
      o.log.info(`${t.url}: the kept bytes before byte ${e} differ from the holder's; starting over`);
      return [];
    }
  }
  return ranges;
}
