/**
 * The `/remote` HTTP endpoint through which nodes fetch sector files from each other
 * (lotus `extern/sector-storage/stores/http_handler.go`):
 *
 * | route | |
 * |---|---|
 * | `GET /remote/stat/<id>` | FsStat of a local path (404 if not local) |
 * | `GET /remote/<type>/<sector>` | a file (`application/octet-stream`, Range → 206) or a cache directory (`application/x-tar`) |
 * | `GET /remote/<type>/<sector>/<spt>/allocated/<offset>/<size>` | 200 if the unpadded range of the unsealed file is allocated, else 416 |
 * | `DELETE /remote/<type>/<sector>` | removes this node's copies (and their declarations) |
 *
 * Requires an API token with `admin` (401 without a token, 403 with a weaker one). Only files the
 * index says this node holds are served, and only under a local storage path: the path is built
 * from a parsed file type and a strictly parsed sector name, never from the request text, and any
 * `..`, `.`, empty (absolute-looking) or encoded-slash segment is refused with 400 first.
 * Lotus answers 500 for most bad input; here bad input is 4xx and says what was wrong.
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Permission } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import { SectorStorageError, toWireError } from '../errors.js';
import { PartialFile } from '../partial/partial-file.js';
import { sealProofInfo } from '../sector/proofs.js';
import { FileType, type FileTypeName, type SectorId, parseFileType, parseSectorName } from '../sector/sector-id.js';
import { paddedIndex } from '../sector/sizes.js';
import type { LocalStore } from './local-store.js';
import { listTarEntries, tarDirectory, tarSize } from './tar.js';

/** Options of {@link createRemoteHandler}. */
export interface RemoteHandlerOptions {
  local: LocalStore;
  /**
   * Permissions of a bearer token, for servers that do not authenticate before calling the
   * handler. When the handler is mounted on the daemon's ApiHttpServer, the server's `auth`
   * argument is used instead.
   */
  verify?: (token: string) => readonly Permission[] | Promise<readonly Permission[]>;
  /** The URL prefix the handler is mounted at. @default '/remote' */
  prefix?: string;
  /** @default console.warn */
  log?: (message: string) => void;
}

/** A `/remote` request handler, compatible with the ApiHttpServer mount signature. */
export type RemoteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  auth?: { permissions: readonly Permission[] },
) => Promise<void>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Builds the `/remote` handler of a node. */
export function createRemoteHandler(options: RemoteHandlerOptions): RemoteHandler {
  const prefix = options.prefix ?? '/remote';
  const log = options.log ?? ((m: string) => console.warn(m));
  return async (req, res, auth) => {
    try {
      await authorize(req, auth, options.verify);
      const segments = parsePath(req.url ?? '/', prefix);
      await route(options.local, req, res, segments);
    } catch (err) {
      if (res.headersSent) {
        // Mid-body failure: cut the connection so the client sees a truncated transfer, not data.
        log(`/remote ${req.method} ${req.url}: ${(err as Error).message}`);
        res.destroy(err as Error);
        return;
      }
      const status = err instanceof HttpError ? err.status : statusOf(err);
      const wire = toWireError(err);
      const headers = err instanceof HttpError ? err.headers : {};
      if (status >= 500) log(`/remote ${req.method} ${req.url}: ${wire.message}`);
      req.resume();
      sendJson(res, status, { Error: err instanceof HttpError ? err.message : wire.message, code: errorCode(err, status) }, headers);
    }
  };
}

async function authorize(
  req: IncomingMessage,
  auth: { permissions: readonly Permission[] } | undefined,
  verify: RemoteHandlerOptions['verify'],
): Promise<void> {
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) throw new HttpError(401, 'unauthorized: an API token with admin permission is required');
  let perms: readonly Permission[];
  if (auth) perms = auth.permissions;
  else if (verify) {
    try {
      perms = await verify(token);
    } catch (err) {
      throw new HttpError(401, `unauthorized: ${(err as Error).message}`);
    }
  } else throw new HttpError(500, 'the /remote handler has no way to verify tokens');
  if (!perms.includes('admin')) throw new HttpError(403, 'forbidden: missing admin permission');
}

/** Splits the path after the prefix into decoded segments, refusing traversal and empty segments. */
export function parsePath(url: string, prefix: string): string[] {
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  if (!raw.startsWith(`${prefix}/`)) throw new HttpError(404, `not under ${prefix}/`);
  const parts = raw.slice(prefix.length + 1).split('/');
  return parts.map((p) => {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      throw new HttpError(400, `path segment ${JSON.stringify(p)} is not valid percent-encoding`);
    }
    if (s === '') throw new HttpError(400, 'empty path segment (absolute paths are not accepted)');
    if (s === '..' || s === '.') throw new HttpError(400, `path segment ${JSON.stringify(s)} refused: no relative paths`);
    if (s.includes('/') || s.includes('\\') || s.includes('\0')) {
      throw new HttpError(400, `path segment ${JSON.stringify(s)} refused: paths are not accepted, only a file type and a sector name`);
    }
    return s;
  });
}

async function route(local: LocalStore, req: IncomingMessage, res: ServerResponse, seg: string[]): Promise<void> {
  const method = req.method ?? 'GET';
  if (seg[0] === 'stat' && seg.length === 2) {
    allow(method, ['GET']);
    req.resume();
    sendJson(res, 200, local.fsStat(seg[1] as string));
    return;
  }
  if (seg.length === 2) {
    const type = fileType(seg[0] as string);
    const sector = sector_(seg[1] as string);
    if (method === 'DELETE') {
      req.resume();
      await local.remove(sector, FileType[type], false);
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
      return;
    }
    allow(method, ['GET', 'HEAD', 'DELETE']);
    req.resume();
    await serveEntry(local, req, res, type, sector);
    return;
  }
  if (seg.length === 6 && seg[3] === 'allocated') {
    allow(method, ['GET']);
    req.resume();
    const type = fileType(seg[0] as string);
    const sector = sector_(seg[1] as string);
    if (type !== 'unsealed') throw new HttpError(400, `allocated ranges exist only for unsealed files, not ${type}`);
    if (!/^\d+$/.test(seg[2] as string)) throw new HttpError(400, `seal proof ${JSON.stringify(seg[2])} is not a number`);
    const ssize = sealProofInfo(Number(seg[2])).sectorSize;
    const offset = decimal(seg[4] as string, 'offset');
    const size = decimal(seg[5] as string, 'size');
    const found = await local.findLocal(sector, 'unsealed');
    if (!found) throw new HttpError(404, `unsealed file of ${seg[1]} is not stored on this node`);
    const pf = await PartialFile.open(found.path, ssize, { readOnly: true });
    let ok: boolean;
    try {
      ok = pf.isAllocated(paddedIndex(offset), paddedIndex(size));
    } finally {
      await pf.close();
    }
    res.writeHead(ok ? 200 : 416, { 'Content-Length': '0' });
    res.end();
    return;
  }
  throw new HttpError(404, `no route for ${method} /${seg.join('/')}`);
}

async function serveEntry(local: LocalStore, req: IncomingMessage, res: ServerResponse, type: FileTypeName, sector: SectorId): Promise<void> {
  const found = await local.findLocal(sector, type);
  if (!found) throw new HttpError(404, `${type} file of s-t0${sector.miner}-${sector.number} is not stored on this node`);
  const st = await lstat(found.path);
  if (!st.isDirectory() && !st.isFile()) {
    throw new HttpError(403, `${type} entry of s-t0${sector.miner}-${sector.number} is not a regular file or directory; refusing to serve it`);
  }
  if (st.isDirectory()) {
    if (req.headers.range) throw new HttpError(400, 'range requests are not supported for cache directories');
    const entries = await listTarEntries(found.path);
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Length': String(tarSize(entries)) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(tarDirectory(found.path, entries), res);
    return;
  }
  const size = st.size;
  const range = parseRange(req.headers.range, size);
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range) {
    [start, end] = range;
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['Content-Length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  await pipeline(createReadStream(found.path, { start, end, highWaterMark: 1 << 20 }), res);
}

/** One `bytes=` range → inclusive [start, end]; undefined without a header; 416 when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  if (header === undefined) return undefined;
  const unsatisfiable = () => new HttpError(416, `range ${JSON.stringify(header)} not satisfiable for ${size} bytes`, { 'Content-Range': `bytes */${size}` });
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  if (m[1] === '') {
    const n = Number(m[2]);
    // RFC 9110 §14.1.2: a suffix range of an empty representation selects nothing.
    if (n === 0 || size === 0) throw unsatisfiable();
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable();
  return [start, end];
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, `method ${method} not allowed here`, { Allow: methods.join(', ') });
}

function fileType(s: string): FileTypeName {
  try {
    return parseFileType(s);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

function sector_(s: string): SectorId {
  try {
    return parseSectorName(s);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

function decimal(s: string, what: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new HttpError(400, `${what} ${JSON.stringify(s)} is not a decimal number`);
  return Number(s);
}

function statusOf(err: unknown): number {
  if (!(err instanceof SectorStorageError)) return 500;
  switch (err.code) {
    case 'STORAGE_NOT_FOUND':
    case 'FILE_NOT_FOUND':
      return 404;
    case 'INVALID_ARGUMENT':
    case 'SECTOR_NAME_INVALID':
    case 'SEAL_PROOF_UNKNOWN':
      return 400;
    case 'UNAUTHORIZED':
      return 401;
    default:
      return 500;
  }
}

function errorCode(err: unknown, status: number): string {
  if (err instanceof SectorStorageError) return err.code;
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'FILE_NOT_FOUND';
  if (status === 400 || status === 405 || status === 416) return 'INVALID_ARGUMENT';
  return 'INTERNAL';
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
