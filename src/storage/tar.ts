/**
 * A minimal streaming tar (POSIX ustar) writer and reader for sector cache directories
 * (Lotus `extern/sector-storage/tarutil/systar.go`): one entry per top-level regular file, no recursion, no links, no
 * extended headers. Sizes of 8 GiB and more (32 GiB sector layers) use the GNU base-256 size
 * field, which GNU tar and bsdtar read. The reader accepts only what the writer produces: regular
 * files with plain names (no `/`, `.` or `..`), so a hostile stream cannot write outside the
 * target directory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FetchFailedError, InvalidArgumentError } from '../errors.js';
import { fsyncDir } from '../fs/durable.js';
import { ChunkWriter } from './file-ops.js';

const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

/** One regular file of a directory to archive. */
export interface TarEntry {
  name: string;
  size: number;
  mtimeMs: number;
  mode: number;
}

/** Lists the regular files of a flat directory (sorted); anything else is an error. */
export async function listTarEntries(dir: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const ent of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!ent.isFile()) throw new InvalidArgumentError(`${join(dir, ent.name)} is not a regular file; only flat directories can be sent`);
    checkName(ent.name);
    const st = await stat(join(dir, ent.name));
    out.push({ name: ent.name, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o777 });
  }
  return out;
}

/** Exact byte length of the archive of `entries` (for Content-Length). */
export function tarSize(entries: readonly TarEntry[]): number {
  let n = 2 * BLOCK;
  for (const e of entries) n += BLOCK + Math.ceil(e.size / BLOCK) * BLOCK;
  return n;
}

/** The 512-byte ustar header of one regular file. */
export function tarHeader(e: TarEntry): Buffer {
  checkName(e.name);
  const h = Buffer.alloc(BLOCK);
  h.write(e.name, 0, 100, 'utf8');
  writeOctal(h, 100, 8, e.mode & 0o7777);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  if (e.size <= MAX_OCTAL_SIZE) {
    writeOctal(h, 124, 12, e.size);
  } else {
    // GNU base-256: high bit of the first byte set, big-endian value in the remaining 11 bytes.
    let v = BigInt(e.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    h[124] = 0x80;
  }
  writeOctal(h, 136, 12, Math.max(0, Math.floor(e.mtimeMs / 1000)));
  h.fill(0x20, 148, 156);
  h[156] = 0x30; // '0': regular file
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i] as number;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/**
 * Streams a flat directory as a tar archive. Files must not change while being sent; a file
 * that shrank is an error rather than a silently short archive.
 */
export async function* tarDirectory(dir: string, entries?: readonly TarEntry[]): AsyncGenerator<Uint8Array> {
  const list = entries ?? (await listTarEntries(dir));
  for (const e of list) {
    yield tarHeader(e);
    let sent = 0;
    if (e.size > 0) {
      for await (const chunk of createReadStream(join(dir, e.name), { end: e.size - 1, highWaterMark: 1 << 20 })) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    if (sent !== e.size) throw new FetchFailedError(`${join(dir, e.name)} changed size while being archived (${sent} of ${e.size} bytes)`);
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Pulls exact byte counts out of an async chunk stream. */
class ByteReader {
  #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  #done = false;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }
  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    return true;
  }
  /** Exactly n bytes, or null at a clean end of stream (no bytes at all). */
  async exact(n: number): Promise<Buffer | null> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new FetchFailedError(`tar stream truncated: wanted ${n} bytes, got ${this.#buf.length}`);
      }
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
  /** Hands `n` bytes to `sink` chunk by chunk. */
  async pipe(n: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) {
        throw new FetchFailedError(`tar stream truncated: ${left} bytes of file data missing`);
      }
      const take = Math.min(left, this.#buf.length);
      const chunk = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      left -= take;
      await sink(chunk);
    }
  }
  async close(): Promise<void> {
    await this.#it.return?.();
  }
}

/**
 * Extracts a tar stream of regular files into `dir` (created 0755; must not exist or be empty of
 * the archive's names), fsyncing every file and the directory. Returns the extracted names.
 */
export async function extractTar(source: AsyncIterable<Uint8Array>, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const reader = new ByteReader(source);
  const names: string[] = [];
  try {
    for (;;) {
      const h = await reader.exact(BLOCK);
      if (h === null) throw new FetchFailedError('tar stream ended without its end-of-archive blocks');
      if (h.every((b) => b === 0)) break;
      const e = parseHeader(h);
      if (names.includes(e.name)) throw new FetchFailedError(`tar stream has ${e.name} twice`);
      names.push(e.name);
      const fh = await open(join(dir, e.name), 'wx', e.mode & 0o777 || 0o644);
      try {
        const writer = new ChunkWriter(fh);
        try {
          await reader.pipe(e.size, (chunk) => writer.push(chunk));
        } finally {
          await writer.finish();
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
      if (pad > 0 && (await reader.exact(pad)) === null) throw new FetchFailedError('tar stream truncated in padding');
    }
  } finally {
    await reader.close();
  }
  await fsyncDir(dir);
  return names;
}

/** Parses and validates one header: regular file, plain name, correct checksum. */
export function parseHeader(h: Buffer): { name: string; size: number; mode: number } {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  const stored = parseOctal(h, 148, 8, 'checksum');
  if (stored !== sum) throw new FetchFailedError(`tar header checksum mismatch (stored ${stored}, computed ${sum})`);
  const type = h[156];
  if (type !== 0x30 && type !== 0) {
    throw new FetchFailedError(`tar entry type ${JSON.stringify(String.fromCharCode(type ?? 0))} is not a regular file; refusing it`);
  }
  const name = cString(h, 0, 100);
  const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? cString(h, 345, 155) : '';
  if (prefix !== '') throw new FetchFailedError(`tar entry ${prefix}/${name} has a directory prefix; only flat archives are accepted`);
  try {
    checkName(name);
  } catch (err) {
    throw new FetchFailedError(`tar entry name refused: ${(err as Error).message}`);
  }
  let size: number;
  if (((h[124] as number) & 0x80) !== 0) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i] as number);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FetchFailedError(`tar entry ${name} is too large`);
    size = Number(v);
  } else {
    size = parseOctal(h, 124, 12, 'size');
  }
  return { name, size, mode: parseOctal(h, 100, 8, 'mode') };
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new InvalidArgumentError(`${JSON.stringify(name)} is not a plain file name`);
  }
  if (Buffer.byteLength(name) > 100) throw new InvalidArgumentError(`file name ${name} is longer than 100 bytes`);
}

function cString(h: Buffer, off: number, len: number): string {
  const field = h.subarray(off, off + len);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? len : end).toString('utf8');
}

function writeOctal(h: Buffer, off: number, len: number, value: number): void {
  h.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function parseOctal(h: Buffer, off: number, len: number, what: string): number {
  const text = cString(h, off, len).trim();
  if (!/^[0-7]*$/.test(text)) throw new FetchFailedError(`tar header ${what} field ${JSON.stringify(text)} is not octal`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Removes a partially extracted directory (best effort). @internal */
export async function discardDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
