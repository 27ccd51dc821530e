/**
 * The `/remote` HTTP endpoint through which nodes fetch sector files from each other
 * (Lotus `extern/sector-storage/stores/http_handler.go`):
 *
 * | route | |
 * |---|---|
 * | `GET /remote/stat/<id>` | FsStat of a local path (404 if not local) |
 * | `GET /remote/<type>/<sector>` | a file (`application/octet-stream`, Range → 206) or a cache directory (`application/x-tar`) |
 * | `GET /remote/<type>/<sector>/<spt>/allocated/<offset>/<size>` | 200 if the unpadded range of the unsealed file is allocated, else 416 |
 * | `GET /remote/cache/<sector>/files[/<name>]`, `…/digests/<offset>/<length>` | per-file fetch and resume checks (fetch-protocol.ts) |
 * | `DELETE /remote/<type>/<sector>` | removes this node's copies (and their declarations); 404 when it holds none |
 *
 * Requires an API token with `admin` (401 without a token, 403 with a weaker one). Only files the
 * index says this node holds are served, and only under a local storage path: the path is built
 * from a parsed file type and a strictly parsed sector name, never from the request text, and any
 * `..`, `.`, empty (absolute-looking) or encoded-slash segment is refused with 400 first.
 * Lotus answers 500 for most bad input; here bad input is 4xx and says what was wrong.
 */
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Permission } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import { SectorStorageError, toWireError } from '../errors.js';
import { PartialFile } from '../partial/partial-file.js';
import { sealProofInfo } from '../sector/proofs.js';
import { FileType, type FileTypeName, type SectorId, parseFileType, parseSectorName } from '../sector/sector-id.js';
import { paddedIndex } from '../sector/sizes.js';
import type { LocalStore } from './local-store.js';
import { HttpError, serveDigests, serveFile, serveFileList } from './http-serve.js';
import { listTarEntries, tarDirectory, tarSize } from './tar.js';
import { type Logger, defaultLogger } from '../log/logger.js';

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
  /** @default defaultLogger() (src/log) */
  log?: Logger;
}

/** A `/remote` request handler, compatible with the ApiHttpServer mount signature. */
export type RemoteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  auth?: { permissions: readonly Permission[] },
) => Promise<void>;

/** Builds the `/remote` handler of a node. */
export function createRemoteHandler(options: RemoteHandlerOptions): RemoteHandler {
  const prefix = options.prefix ?? '/remote';
  const log = options.log ?? defaultLogger();
  return async (req, res, auth) => {
    try {
      await authorize(req, auth, options.verify);
      const segments = parsePath(req.url ?? '/', prefix);
      await route(options.local, req, res, segments);
    } catch (err) {
      if (res.headersSent) {
        // Mid-body failure: cut the connection so the client sees a truncated transfer, not data.
        log.warn(`/remote ${req.method} ${req.url}: ${(err as Error).message}`);
        res.destroy(err as Error);
        return;
      }
      const status = err instanceof HttpError ? err.status : statusOf(err);
      const wire = toWireError(err);
      const headers = err instanceof HttpError ? err.headers : {};
      if (status >= 500) log.info(`/remote ${req.method} ${req.url}: ${wire.message}`);
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
      // Lotus answers 200 when only another node holds the copy, so its client stops at the
      // first URL that "succeeded" with the copy still on disk elsewhere; 404 makes it (and ours)
      // go on to the next URL. No client needs the 200: a move deletes at the URL it fetched from.
      const removed = await local.remove(sector, FileType[type], false);
      if (removed === 0) throw new HttpError(404, `${type} file of ${seg[1]} is not stored on this node; nothing removed`);
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
      return;
    }
    allow(method, ['GET', 'HEAD', 'DELETE']);
    req.resume();
    await serveEntry(local, req, res, type, sector);
    return;
  }
  if (seg[2] === 'files' && (seg.length === 3 || seg.length === 4 || (seg.length === 7 && seg[4] === 'digests'))) {
    allow(method, seg.length === 4 ? ['GET', 'HEAD'] : ['GET']);
    req.resume();
    const type = fileType(seg[0] as string);
    const sector = sector_(seg[1] as string);
    if (type !== 'cache') throw new HttpError(400, `only cache directories have files, not ${type}`);
    if (seg.length === 3) {
      const dir = await entryPath(local, 'cache', sector);
      if (!(await lstat(dir)).isDirectory()) throw new HttpError(403, `the cache entry of ${seg[1]} is not a directory`);
      await serveFileList(res, dir);
      return;
    }
    const path = await cacheFilePath(local, sector, seg[3] as string);
    if (seg.length === 4) await serveFile(req, res, path);
    else await serveDigests(res, path, decimal(seg[5] as string, 'offset'), decimal(seg[6] as string, 'length'));
    return;
  }
  if (seg.length === 5 && seg[2] === 'digests') {
    allow(method, ['GET']);
    req.resume();
    const type = fileType(seg[0] as string);
    const sector = sector_(seg[1] as string);
    const path = await entryPath(local, type, sector);
    if (!(await lstat(path)).isFile()) throw new HttpError(400, `the ${type} entry of ${seg[1]} is a directory: ask for the digests of its files`);
    await serveDigests(res, path, decimal(seg[3] as string, 'offset'), decimal(seg[4] as string, 'length'));
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
  const path = await entryPath(local, type, sector);
  const st = await lstat(path);
  if (st.isDirectory()) {
    if (req.headers.range) throw new HttpError(400, 'range requests are not supported for cache directories (fetch its files: <entry>/files)');
    const entries = await listTarEntries(path);
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Length': String(tarSize(entries)) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(tarDirectory(path, entries), res);
    return;
  }
  await serveFile(req, res, path);
}

/** The local sector file or cache directory of `type`; 404 when this node holds none, 403 for anything else. */
async function entryPath(local: LocalStore, type: FileTypeName, sector: SectorId): Promise<string> {
  const found = await local.findLocal(sector, type);
  if (!found) throw new HttpError(404, `${type} file of s-t0${sector.miner}-${sector.number} is not stored on this node`);
  const st = await lstat(found.path);
  if (!st.isDirectory() && !st.isFile()) {
    throw new HttpError(403, `${type} entry of s-t0${sector.miner}-${sector.number} is not a regular file or directory; refusing to serve it`);
  }
  return found.path;
}

/** A regular file of a local cache directory. */
async function cacheFilePath(local: LocalStore, sector: SectorId, name: string): Promise<string> {
  const dir = await entryPath(local, 'cache', sector);
  const path = join(dir, name);
  const st = await lstat(path).catch(() => undefined);
  if (!st) throw new HttpError(404, `cache of s-t0${sector.miner}-${sector.number} has no file ${JSON.stringify(name)}`);
  if (!st.isFile()) throw new HttpError(403, `${name} in the cache of s-t0${sector.miner}-${sector.number} is not a regular file; refusing to serve it`);
  return path;
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
