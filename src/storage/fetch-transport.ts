/**
 * The HTTP side of a fetch (fetch-engine.ts): one GET through the raw client of raw-http.ts for
 * plain `http:` holders, or Node's client for `https:` and for holders whose responses the raw
 * client does not read (no Content-Length; remembered per host), and the checks every data
 * response of a byte range must pass.
 */
import { FetchFailedError } from '../errors.js';
import { RangeWriter } from './fetch-writer.js';
import { readText, sendRequest } from './http-client.js';
import { type BodySink, type HeadDecision, type RawHead, RawHttpUnsupportedError, rawGet } from './raw-http.js';

/** What a GET needs. */
export interface TransportOptions {
  /** Request headers (auth) plus `extra`. */
  headers: (extra?: Record<string, string>) => Record<string, string>;
  signal?: AbortSignal;
  /** A connection fails when no byte arrives for this long. */
  idleMs: number;
  /**
   * Hosts whose responses the raw client does not read (no Content-Length): Node's client is used
   * for them from then on. Owned by the caller (one per store). @default a new set per download
   */
  viaNode?: Set<string>;
}

/** A fetch error that retrying the same range cannot cure (a holder answering wrongly). */
export function fatalFetchError(message: string): Error {
  return Object.assign(new FetchFailedError(message), { fatal: true });
}

/** True for an error of {@link fatalFetchError}. */
export function isFatal(err: unknown): boolean {
  return (err as { fatal?: boolean } | undefined)?.fatal === true;
}

/** A sector file's data must come as `application/octet-stream`. */
export function checkOctets(url: string, head: RawHead): void {
  const type = head.headers['content-type'] ?? '';
  if (type !== 'application/octet-stream') throw new FetchFailedError(`${url}: unknown content type ${JSON.stringify(type)} for a sector file`);
}

/**
 * A data response must be exactly the range `[from, end)` asked for, of a file of `size` bytes:
 * 206, `Content-Range: bytes from-(end-1)/size`, and that many bytes of `Content-Length`.
 */
export function checkRangeHead(url: string, size: number, head: RawHead, from: number, end: number): void {
  if (head.status === 200) throw fatalFetchError(`${url}: the holder's file changed during the fetch (it answered a ranged If-Range request with the whole file)`);
  if (head.status !== 206) throw fatalFetchError(`${url}: HTTP ${head.status} for bytes=${from}-${end - 1}`);
  checkOctets(url, head);
  const range = head.headers['content-range'] ?? '';
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
  if (!m || Number(m[1]) !== from || Number(m[2]) !== end - 1) {
    throw fatalFetchError(`${url}: asked for bytes=${from}-${end - 1}, got Content-Range ${JSON.stringify(range)}`);
  }
  if (Number(m[3]) !== size) throw fatalFetchError(`${url}: the file has ${size} bytes, but this response says ${m[3]}`);
  if (head.length < 0) throw fatalFetchError(`${url}: a range response without a Content-Length (its end could not be told from a cut)`);
  if (head.length !== end - from) throw fatalFetchError(`${url}: Content-Length ${head.length} for a range of ${end - from} bytes`);
}

/**
 * One GET through the raw client (plain http), or Node's client for https and for holders whose
 * responses the raw client does not handle.
 */
export async function get(
  url: string,
  o: TransportOptions,
  extra: Record<string, string>,
  onHead: (head: RawHead) => HeadDecision,
  signal: AbortSignal | undefined = o.signal,
): Promise<{ head: RawHead; received: number; text?: string }> {
  const parsed = new URL(url);
  o.viaNode ??= new Set<string>();
  const viaNode = o.viaNode;
  if (parsed.protocol === 'http:' && !viaNode.has(parsed.host)) {
    try {
      return await rawGet(parsed, { headers: o.headers(extra), ...(signal ? { signal } : {}), idleMs: o.idleMs }, (head, resume) => {
        const d = onHead(head);
        if ('sink' in d && d.sink instanceof RangeWriter) d.sink.resume = resume;
        return d;
      });
    } catch (err) {
      if (!(err instanceof RawHttpUnsupportedError)) throw err;
      viaNode.add(parsed.host);
    }
  }
  const res = await sendRequest(url, { headers: o.headers(extra), signal, idleMs: o.idleMs });
  const cl = Number(res.headers['content-length']);
  const head: RawHead = {
    status: res.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])),
    length: Number.isSafeInteger(cl) ? cl : -1,
  };
  let d: HeadDecision;
  try {
    d = onHead(head);
  } catch (err) {
    res.destroy();
    throw err;
  }
  if (!('sink' in d)) return { head, received: 0, text: await readText(res, 64 * 1024) };
  const sink = d.sink;
  let received = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (head.length >= 0 && received > head.length) throw new FetchFailedError(`${url}: body longer than its Content-Length ${head.length}`);
    if (sink instanceof RangeWriter) {
      await sink.push(chunk);
      continue;
    }
    for (let at = 0; at < chunk.length; ) {
      const space = sink.space();
      const k = Math.min(space.length, chunk.length - at);
      if (k === 0) throw new FetchFailedError(`${url}: more body than expected`);
      chunk.copy(space, 0, at, at + k);
      at += k;
      sink.filled(k);
    }
  }
  if (head.length >= 0 && received !== head.length) throw new FetchFailedError(`${url}: body ended after ${received} of ${head.length} bytes`);
  return { head, received };
}

/** A body sink into one buffer of the exact expected size (small checks). */
export class BufferSink implements BodySink {
  readonly #buf: Buffer;
  #fill = 0;
  constructor(size: number) {
    this.#buf = Buffer.alloc(size);
  }
  get bytes(): Buffer {
    return this.#buf.subarray(0, this.#fill);
  }
  space(): Buffer {
    // never empty: bytes past the end land in a scratch tail the length check rejects
    return this.#fill < this.#buf.length ? this.#buf.subarray(this.#fill) : Buffer.allocUnsafe(1);
  }
  filled(n: number): boolean {
    this.#fill = Math.min(this.#buf.length, this.#fill + n);
    return true;
  }
}
