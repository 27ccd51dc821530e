/**
 * Retrieval over HTTP for API users (read permission), mounted by the daemon:
 * - `GET /piece/{pieceCid}`: the piece's payload bytes, with `Range` (one range; 206 with
 *   `Content-Range`, 416 for a range past the end), as Boost's and Curio's `/piece` do;
 * - `GET /ipfs/{cid}`: the trustless gateway conventions (IPFS HTTP Gateway "trustless" spec):
 *   `?format=car` or `Accept: application/vnd.ipld.car` for the DAG under the CID as a CARv1,
 *   `?format=raw` or `Accept: application/vnd.ipld.raw` for the one block; neither asked for is
 *   406, since a trustless gateway serves only verifiable responses.
 * Errors are JSON `{Error, code}`: 400 for a bad CID or format, 404 for what no shard holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CID } from 'multiformats/cid';
import { SectorStorageError, toWireError } from '../errors.js';
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
  if (code === 'INVALID_ARGUMENT') return 400;
  return 500;
}

/** One `bytes=a-b` / `bytes=a-` / `bytes=-n` range of a body of `size` bytes, or 'bad' / undefined. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'bad' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return { start, end };
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
      const got = await ds.retrieve(cid, format, { signal: abort.signal });
      const headers: Record<string, string | number> = {
        'Content-Type': format === 'car' ? `${CAR_TYPE}; version=1` : format === 'raw' ? RAW_TYPE : 'application/octet-stream',
        'X-Content-Type-Options': 'nosniff',
      };
      if (format !== 'piece') headers['Content-Disposition'] = `attachment; filename="${cid}.${format === 'car' ? 'car' : 'bin'}"`;
      let body: AsyncIterable<Uint8Array> = got.body;
      let status = 200;
      if (format === 'piece' && got.size !== undefined) {
        headers['Accept-Ranges'] = 'bytes';
        const range = parseRange(req.headers.range, got.size);
        if (range === 'bad') {
          await drop(got.body);
          res.writeHead(416, { 'Content-Range': `bytes */${got.size}` });
          res.end();
          return;
        }
        if (range) {
          status = 206;
          headers['Content-Range'] = `bytes ${range.start}-${range.end}/${got.size}`;
          headers['Content-Length'] = range.end - range.start + 1;
          body = slice(got.body, range.start, range.end + 1);
        } else headers['Content-Length'] = got.size;
      } else if (got.size !== undefined) headers['Content-Length'] = got.size;
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        await drop(got.body);
        res.end();
        return;
      }
      await pipeline(Readable.from(body), res);
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

async function* slice(body: AsyncIterable<Uint8Array>, start: number, end: number): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for await (const chunk of body) {
    const from = Math.max(start - pos, 0);
    const to = Math.min(end - pos, chunk.length);
    pos += chunk.length;
    if (to > from) yield chunk.subarray(from, to);
    if (pos >= end) return;
  }
}
