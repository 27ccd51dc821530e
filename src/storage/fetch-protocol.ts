/**
 * The additions to Lotus's `/remote` protocol that make fetches parallel and resumable, shared by
 * the handler (http-handler.ts) and the fetcher (fetch-engine.ts). A peer without them (Lotus, or
 * an older node) answers 404 and the fetcher falls back to what Lotus does.
 *
 * | route | |
 * |---|---|
 * | `GET <entry>/files` | a cache directory's regular files as JSON `[{name, size}]` (sorted) |
 * | `GET <entry>/files/<name>` | one file of it (`Range` → 206), like a sector file |
 * | `GET <file>/digests/<offset>/<length>` | SHA-256 of each {@link DIGEST_CHUNK} of that byte range of a file, concatenated (32 bytes each; the last chunk may be short) |
 *
 * `<entry>` is `/remote/<type>/<sector>`, `<file>` either an entry that is a file or
 * `<entry>/files/<name>`. File responses carry a strong `ETag` and `Last-Modified`, and honour
 * `If-Range` with either, as Go's `http.ServeContent` (Lotus) does.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Bytes per digest of the `digests` route; offsets given to it are multiples of it. */
export const DIGEST_CHUNK = 4 * 1024 * 1024;
/** Bytes of one SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** One regular file of a cache directory as the `files` route lists it. */
export interface CacheFileEntry {
  name: string;
  size: number;
}

/** `<entry>/files` */
export function filesUrl(entryUrl: string): string {
  return `${entryUrl}/files`;
}

/** `<entry>/files/<name>` */
export function cacheFileUrl(entryUrl: string, name: string): string {
  return `${entryUrl}/files/${encodeURIComponent(name)}`;
}

/** `<file>/digests/<offset>/<length>` */
export function digestsUrl(fileUrl: string, offset: number, length: number): string {
  return `${fileUrl}/digests/${offset}/${length}`;
}

/**
 * SHA-256 of each {@link DIGEST_CHUNK} of `[offset, offset+length)` of a file, concatenated.
 * Reads chunk by chunk (memory stays at one chunk) and yields to the event loop between reads.
 * Fails if the file ends inside the range.
 */
export async function chunkDigests(path: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const n = Math.ceil(length / DIGEST_CHUNK);
    const out = Buffer.allocUnsafe(n * DIGEST_BYTES);
    const buf = Buffer.allocUnsafe(Math.min(DIGEST_CHUNK, Math.max(1, length)));
    for (let i = 0; i < n; i++) {
      signal?.throwIfAborted();
      const at = offset + i * DIGEST_CHUNK;
      const want = Math.min(DIGEST_CHUNK, offset + length - at);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, at + got);
        if (bytesRead === 0) throw new RangeError(`${path} ends at byte ${at + got}, inside the range [${offset}, ${offset + length})`);
        got += bytesRead;
      }
      createHash('sha256').update(buf.subarray(0, want)).digest().copy(out, i * DIGEST_BYTES);
    }
    return out;
  } finally {
    await fh.close();
  }
}
