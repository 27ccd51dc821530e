/**
 * Byte sources for the piece path: one `Uint8Array`, any async iterable of chunks (web or Node
 * streams, generators), or an old-style Node readable; and a prefetching file reader that keeps
 * one read in flight while the previous chunk is being hashed.
 */
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { AbortedError, FileNotFoundError, FileUnreadableError } from '../errors.js';

/** Anything the piece path can read a payload from. */
export type ByteSource = Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** Normalises a {@link ByteSource} to an async iterable of chunks. */
export function chunksOf(source: ByteSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    return (async function* () {
      yield source;
    })();
  }
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return source as AsyncIterable<Uint8Array>;
  }
  if (source && typeof (source as NodeJS.ReadableStream).on === 'function') {
    return new Readable().wrap(source as NodeJS.ReadableStream);
  }
  throw new TypeError('source must be a Uint8Array, an async iterable of Uint8Array or a readable stream');
}

/** Opens a payload file for reading, mapping errors to FileNotFoundError / FileUnreadableError. */
export async function openPayload(path: string) {
  try {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new FileUnreadableError(`${path} is not a regular file`);
    }
    return { fh, size: st.size };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(`file ${path} does not exist`, { cause: err });
    if (code === 'EISDIR') throw new FileUnreadableError(`${path} is a directory, not a file`, { cause: err });
    if (code) throw new FileUnreadableError(`file ${path} cannot be read (${code})`, { cause: err });
    throw err;
  }
}

/**
 * Reads `length` bytes of a file from `start` in chunks of `chunkSize`, with the next read in
 * flight while the consumer handles the current chunk. A yielded chunk is only valid until the
 * consumer asks for the next one. A file that is shorter than `start + length` ends early.
 */
export async function* readFileRange(
  path: string,
  start = 0,
  length = Number.POSITIVE_INFINITY,
  chunkSize = 4 * 1024 * 1024,
): AsyncGenerator<Uint8Array> {
  const { fh, size } = await openPayload(path);
  let next: Promise<{ bytesRead: number }> | undefined;
  try {
    const end = Math.min(size, start + length);
    const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
    let pos = start;
    let which = 0;
    const readInto = (buf: Buffer, at: number) => fh.read(buf, 0, Math.min(chunkSize, end - at), at);
    next = pos < end ? readInto(bufs[0]!, pos) : undefined;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const current = bufs[which]!.subarray(0, bytesRead);
      pos += bytesRead;
      which ^= 1;
      next = pos < end ? readInto(bufs[which]!, pos) : undefined;
      yield current;
    }
  } finally {
    // a consumer that stops early leaves one read in flight: let it land before closing
    await next?.catch(() => {});
    await fh.close();
  }
}

/** Throws AbortedError (code ABORTED) when `signal` has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} cancelled`, { cause: signal.reason });
}
