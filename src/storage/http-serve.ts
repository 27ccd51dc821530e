/**
 * Serving the bytes of sector files over `/remote` (http-handler.ts routes here): whole files and
 * byte ranges with validators, a cache directory's file list, and chunk digests (the additions of
 * fetch-protocol.ts).
 *
 * A file response carries a strong `ETag` (inode, size, modification time in ns) and
 * `Last-Modified`, and a `Range` request with an `If-Range` that no longer matches gets the whole
 * file (200), as Go's `http.ServeContent` does: a resuming fetcher must not splice two versions.
 */
import { lstat, open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import { chunkDigests, DIGEST_CHUNK } from './fetch-protocol.js';
import { parseRangeHeader, unsatisfiedRange } from './http-range.js';
import { listTarEntries } from './tar.js';

/** An HTTP failure with its status (and headers), answered as JSON by the handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Validators of a file: strong ETag and Last-Modified. */
async function validators(path: string): Promise<{ size: number; etag: string; lastModified: string; mtimeSec: number }> {
  const st = await lstat(path, { bigint: true });
  if (!st.isFile()) throw new HttpError(403, `${path} is not a regular file; refusing to serve it`);
  return {
    size: Number(st.size),
    etag: `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`,
    lastModified: new Date(Number(st.mtimeMs)).toUTCString(),
    mtimeSec: Math.floor(Number(st.mtimeMs) / 1000),
  };
}

/** Serves a regular file, whole or by one `bytes=` range (206), honouring `If-Range`. */
export async function serveFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const v = await validators(path);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: v.etag,
    'Last-Modified': v.lastModified,
  };
  const ifRange = req.headers['if-range'];
  const rangeApplies =
    typeof ifRange !== 'string' || (ifRange.startsWith('"') ? ifRange === v.etag : Date.parse(ifRange) === v.mtimeSec * 1000);
  const range = rangeApplies ? remoteRange(req.headers.range, v.size) : undefined;
  let start = 0;
  let end = v.size - 1;
  let status = 200;
  if (range) {
    [start, end] = range;
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${v.size}`;
  }
  headers['Content-Length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  await sendBytes(res, path, start, end + 1);
}

/** Bytes of each read of a served file; two such blocks per response. */
export const SEND_BLOCK = 4 * 1024 * 1024;

/**
 * Writes `[start, end)` of a file to `res` from two reused blocks: one is read (at its file
 * position) while the socket takes the other, and a block is read into again only once its
 * write reached the kernel. A file stream would allocate fresh memory for every read, and on
 * a fetch of hundreds of MiB those page faults and that zeroing cost as much as a copy.
 * A file that ends early (shrank while being served) fails the response rather than sending
 * fewer bytes than its Content-Length.
 */
async function sendBytes(res: ServerResponse, path: string, start: number, end: number): Promise<void> {
  const fh = await open(path, 'r');
  let onClose: (() => void) | undefined;
  const gone = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error('the client closed the connection'));
    res.once('close', onClose);
  });
  gone.catch(() => {});
  try {
    const size = Math.min(SEND_BLOCK, Math.max(1, end - start));
    const blocks = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    const writes: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    for (let pos = start, i = 0; pos < end; i ^= 1) {
      await Promise.race([writes[i], gone]);
      const block = blocks[i] as Buffer;
      const { bytesRead } = await fh.read(block, 0, Math.min(block.length, end - pos), pos);
      if (bytesRead === 0) throw new Error(`${path} ends at byte ${pos}, before the ${end} bytes being served (it shrank)`);
      writes[i] = new Promise<void>((resolve, reject) => {
        res.write(block.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve()));
      });
      writes[i]?.catch(() => {});
      pos += bytesRead;
    }
    await Promise.race([Promise.all(writes), gone]);
    res.end();
  } finally {
    if (onClose) res.off('close', onClose);
    await fh.close();
  }
}

/**
 * The one range a `/remote` file request is answered with: undefined for the whole file, the
 * inclusive [start, end] for a 206. Every other outcome is a 416 whose `Content-Range` gives the size
 * (as Go's `http.ServeContent`, which Lotus serves these files with, answers an unsatisfiable
 * or malformed one). Go would send several ranges as multipart/byteranges; fetchers of sector
 * files ask for one range only, so several are refused here rather than served whole (a sealed
 * file is tens of GiB). Another unit is refused too, as Go refuses a header not starting with
 * `bytes=`.
 */
function remoteRange(header: string | undefined, size: number): [number, number] | undefined {
  const asked = parseRangeHeader(header, size);
  if (asked.kind === 'absent') return undefined;
  if (asked.kind === 'range') return [asked.start, asked.end];
  const why =
    asked.kind === 'malformed'
      ? asked.reason
      : asked.kind === 'multiple'
        ? `${asked.ranges.length} ranges asked, /remote serves one`
        : asked.kind === 'other-unit'
          ? `unit ${JSON.stringify(asked.unit)} is not bytes`
          : `no range overlaps the ${size} bytes`;
  throw new HttpError(416, `range ${JSON.stringify(header)} not satisfiable: ${why}`, { 'Content-Range': unsatisfiedRange(size) });
}

/** The regular files of a cache directory as `[{name, size}]`. */
export async function serveFileList(res: ServerResponse, dir: string): Promise<void> {
  const entries = await listTarEntries(dir);
  const text = JSON.stringify(entries.map((e) => ({ name: e.name, size: e.size })));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** SHA-256 of each {@link DIGEST_CHUNK} of `[offset, offset+length)` of a file, concatenated. */
export async function serveDigests(res: ServerResponse, path: string, offset: number, length: number): Promise<void> {
  const v = await validators(path);
  if (offset % DIGEST_CHUNK !== 0) throw new HttpError(400, `digest offset ${offset} is not a multiple of ${DIGEST_CHUNK}`);
  if (offset + length > v.size) throw new HttpError(416, `digest range [${offset}, ${offset + length}) ends past the ${v.size}-byte file`);
  let body: Buffer;
  try {
    body = await chunkDigests(path, offset, length);
  } catch (err) {
    if (err instanceof RangeError) throw new InvalidArgumentError(`${path} changed while it was hashed: ${err.message}`);
    throw err;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), ETag: v.etag, 'X-Digest-Chunk': String(DIGEST_CHUNK) });
  res.end(body);
}
