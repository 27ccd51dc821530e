/**
 * Retrieval over HTTP for API users (read permission), mounted by the daemon:
 * - `GET /piece/{pieceCid}`: the piece's payload bytes, with `Range` as RFC 9110 §14 has it (one
 *   byte range: 206 with `Content-Range`, read from the range's offset on; an unsatisfiable or
 *   malformed one: 416 with a `Content-Range` that gives the size; another unit, or several ranges
 *   that overlap the piece (no multipart/byteranges here): the Range is ignored and the whole
 *   piece is 200), as Boost's and Curio's `/piece` do; storage/http-range.ts parses the header;
 * - `GET /ipfs/{cid}`: the trustless gateway conventions (IPFS HTTP Gateway "trustless" spec):
 *   `?format=car` or `Accept: application/vnd.ipld.car` for the DAG under the CID as a CARv1,
 *   `?format=raw` or `Accept: application/vnd.ipld.raw` for the one block; neither asked for is
 *   406, since a trustless gateway serves only verifiable responses.
 * A piece CID may be v1 or v2 (FRC-0069; its sizes must be the piece's, else 400 PIECE_CID_INVALID).
 * Errors are JSON `{Error, code}`: 400 for a bad CID or format, 404 for what no shard holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CID } from 'multiformats/cid';
import { SectorStorageError, toWireError } from '../errors.js';
import { type ByteRange, parseRangeHeader, unsatisfiedRange } from '../storage/http-range.js';
import type { MountHandler } from './http-server.js';
import type { DagstoreApiService, RetrievalFormat } from './methods/dagstore.js';

const CAR_TYPE = 'application/vnd.ipld.car';
const RAW_TYPE = 'application/vnd.ipld.raw';

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ Error: message, code });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function statusOf(err: unknown): number {
  const code = err instanceof SectorStorageError ? err.code : '';
  if (code === 'BLOCK_NOT_FOUND' || code === 'SHARD_UNKNOWN') return 404;
  if (code === 'INVALID_ARGUMENT' || code === 'PIECE_CID_INVALID') return 400;
  return 500;
}

/**
 * The one range a `/piece` request is answered with (RFC 9110 §14.2): `{start, end}` for a 206;
 * 'refuse' for a malformed or unsatisfiable bytes range (416); undefined for the whole piece (no
 * header, another unit, or several ranges: no multipart/byteranges here, and a server may ignore
 * a Range rather than answer each part).
 */
function pieceRange(header: string | undefined, size: number): ByteRange | 'refuse' | undefined {
  const asked = parseRangeHeader(header, size);
  if (asked.kind === 'range') return { start: asked.start, end: asked.end };
  if (asked.kind === 'malformed' || asked.kind === 'unsatisfiable') return 'refuse';
  return undefined;
}

/** The handler of `/piece` and `/ipfs`, over the daemon's dagstore (absent: 503). */
export function createRetrievalHandler(dagstore: () => DagstoreApiService | undefined): MountHandler {
  return async (req: IncomingMessage, res: ServerResponse, auth) => {
    if (!auth.permissions.includes('read')) return fail(res, 401, 'UNAUTHORIZED', 'missing read permission');
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'INVALID_ARGUMENT', `${req.method} is not allowed; use GET`);
    const ds = dagstore();
    if (!ds) return fail(res, 503, 'INVALID_ARGUMENT', 'the daemon runs no dagstore');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/(piece|ipfs)\/([^/]+)\/?$/.exec(url.pathname);
    if (!m) return fail(res, 404, 'INVALID_ARGUMENT', `no such path ${url.pathname} (GET /piece/{pieceCid} or /ipfs/{cid})`);
    let cid: CID;
    try {
      cid = CID.parse(m[2]!);
    } catch (err) {
      return fail(res, 400, 'INVALID_ARGUMENT', `${m[2]} is not a CID (${(err as Error).message})`);
    }
    let format: RetrievalFormat = 'piece';
    if (m[1] === 'ipfs') {
      const asked = url.searchParams.get('format');
      const accept = String(req.headers.accept ?? '');
      if (asked === 'car' || (!asked && accept.includes(CAR_TYPE))) format = 'car';
      else if (asked === 'raw' || (!asked && accept.includes(RAW_TYPE))) format = 'raw';
      else return fail(res, asked ? 400 : 406, 'INVALID_ARGUMENT', `ask for ?format=car or ?format=raw (or Accept: ${CAR_TYPE} / ${RAW_TYPE})${asked ? `, not format=${asked}` : ''}`);
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      if (format === 'piece') return await servePiece(req, res, ds, cid, abort.signal);
      const got = await ds.retrieve(cid, format, { signal: abort.signal });
      const headers: Record<string, string | number> = {
        'Content-Type': format === 'car' ? `${CAR_TYPE}; version=1` : RAW_TYPE,
        'X-Content-Type-Options': 'nosniff',
        'Content-Disposition': `attachment; filename="${cid}.${format === 'car' ? 'car' : 'bin'}"`,
      };
      if (got.size !== undefined) headers['Content-Length'] = got.size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        await drop(got.body);
        res.end();
        return;
      }
      await pipeline(Readable.from(got.body), res);
    } catch (err) {
      const wire = toWireError(err);
      fail(res, statusOf(err), wire.code, wire.message);
    }
  };
}

/** Ends a body nobody reads (its shard is released). */
async function drop(body: AsyncIterable<Uint8Array>): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  await it.next().catch(() => {});
  await it.return?.();
}

/** `GET /piece/{cid}`: the whole payload, or the one range asked for, read from its offset on. */
async function servePiece(req: IncomingMessage, res: ServerResponse, ds: DagstoreApiService, cid: CID, signal: AbortSignal): Promise<void> {
  const piece = await ds.openPiece(cid);
  const range = pieceRange(req.headers.range, piece.size);
  if (range === 'refuse') {
    res.writeHead(416, { 'Content-Range': unsatisfiedRange(piece.size), 'Accept-Ranges': 'bytes', 'Content-Length': 0 });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: piece.size - 1 };
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'X-Content-Type-Options': 'nosniff',
    'Accept-Ranges': 'bytes',
    'Content-Length': end - start + 1,
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${piece.size}`;
  if (req.method === 'HEAD') {
    res.writeHead(range ? 206 : 200, headers);
    res.end();
    return;
  }
  // opened before the head is written: a piece that cannot be read is an error status, not a cut body
  const body = await piece.read(start, end - start + 1, { signal });
  res.writeHead(range ? 206 : 200, headers);
  await pipeline(Readable.from(body), res);
}
