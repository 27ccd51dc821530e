/**
 * The one parser of HTTP `Range` request headers (RFC 9110 §14.1–§14.2), shared by the servers
 * that answer them: `/remote` file reads (http-serve.ts) and `GET /piece/{pieceCid}`
 * (api/retrieval-handler.ts). It only classifies what was asked of a body of `size` bytes; each
 * server decides what its status is, because they answer some outcomes differently (see
 * {@link RangeRequest}).
 *
 * The grammar is RFC 9110's: `range-unit "=" range-set`, the unit case-insensitive, the set a
 * comma-separated list (empty elements and whitespace around them skipped) of `first-last`,
 * `first-` and `-suffix`. Like Go's `net/http` parseRange (which Lotus's
 * `storage/paths/http_handler.go` serves `/remote` files with, through `http.ServeFile`), a
 * range that starts past the end is dropped rather than refused outright, so that a set is
 * unsatisfiable only when none of its ranges overlaps the body (RFC 9110 §15.5.17).
 */

/** One byte range, both ends inclusive and inside the body. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a `Range` header asks of a body:
 * - `absent`: no header: the whole body;
 * - `range`: exactly one satisfiable range (a last position past the end clamped to it, a suffix
 *   longer than the body the whole body; several ranges of which one overlaps are that one);
 * - `multiple`: several satisfiable ranges (neither server answers multipart/byteranges);
 * - `unsatisfiable`: well-formed byte ranges none of which overlaps the body (a first position at
 *   or past the end, a zero-length suffix, any suffix of an empty body): RFC 9110's 416 with a
 *   `Content-Range` that gives the size ({@link unsatisfiedRange});
 * - `malformed`: not a byte-range set (`bytes=5-2`, `bytes=x`, `bytes=`, no `=`), with the reason;
 * - `other-unit`: a unit other than `bytes`, which RFC 9110 §14.2 says a server ignores.
 */
export type RangeRequest =
  | { kind: 'absent' }
  | ({ kind: 'range' } & ByteRange)
  | { kind: 'multiple'; ranges: ByteRange[] }
  | { kind: 'unsatisfiable' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'other-unit'; unit: string };

const DIGITS = /^\d+$/;

/** Classifies the `Range` header `header` (undefined: none) of a body of `size` bytes. */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'absent' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'malformed', reason: 'no "=" between the unit and the ranges' };
  const unit = header.slice(0, eq).trim();
  if (unit.toLowerCase() !== 'bytes') return { kind: 'other-unit', unit };
  const ranges: ByteRange[] = [];
  let elements = 0;
  for (const raw of header.slice(eq + 1).split(',')) {
    const spec = raw.trim();
    if (spec === '') continue;
    elements++;
    const dash = spec.indexOf('-');
    const first = dash < 0 ? '' : spec.slice(0, dash).trim();
    const last = dash < 0 ? '' : spec.slice(dash + 1).trim();
    if (dash < 0 || (first !== '' && !DIGITS.test(first)) || (last !== '' && !DIGITS.test(last)) || (first === '' && last === '')) {
      return { kind: 'malformed', reason: `${JSON.stringify(spec)} is not first-last, first- or -suffix` };
    }
    if (first === '') {
      // RFC 9110 §14.1.1: a zero-length suffix, or any suffix of an empty body, selects nothing
      const suffix = Number(last);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    if (last !== '' && Number(last) < start) return { kind: 'malformed', reason: `${JSON.stringify(spec)} ends before it starts` };
    if (start >= size) continue;
    ranges.push({ start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) });
  }
  if (elements === 0) return { kind: 'malformed', reason: 'no range after "bytes="' };
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length === 1) return { kind: 'range', ...(ranges[0] as ByteRange) };
  return { kind: 'multiple', ranges };
}

/** The `Content-Range` of a 416: the body's size, no range (RFC 9110 §14.4). */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
