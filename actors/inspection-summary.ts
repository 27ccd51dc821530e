/**
 * One-line summaries of actor contexts and state values for the inspection views: the live tree
 * shows what an actor holds without serialising it (a scheduler context holds every queue and
 * table; a sector's holds its pieces and proofs).
 */

const MAX_FIELDS = 16;
const MAX_TEXT = 80;

/** `{ Committing: 'C2' }` → `Committing.C2`; parallel regions are joined with `, `. */
export function stateString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => {
      const inner = stateString(v);
      return typeof v === 'object' && v !== null && Object.keys(v).length > 1 ? `${k}.(${inner})` : `${k}.${inner}`;
    })
    .join(', ');
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function isActorRef(v: object): boolean {
  return 'sessionId' in v && typeof (v as { send?: unknown }).send === 'function';
}

/** One value in a line: scalars as they are (clipped), collections by size, objects by their keys. */
export function summarizeValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'string':
      return clip(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    default:
      break;
  }
  if (v === null) return 'null';
  const o = v as object;
  if (isActorRef(o)) return `→ ${(o as { id?: string }).id ?? 'actor'}`;
  if (o instanceof Uint8Array) return `${o.byteLength} bytes`;
  if (Array.isArray(o)) return `[${o.length}]`;
  if (o instanceof Map || o instanceof Set) return `${o instanceof Map ? 'Map' : 'Set'}(${o.size})`;
  if (o instanceof Error) return clip(`${o.name}: ${o.message}`);
  const entries = Object.entries(o).filter(([, x]) => typeof x !== 'function' && x !== undefined);
  const scalars = entries.filter(([, x]) => x === null || typeof x !== 'object');
  if (entries.length <= 4 && scalars.length === entries.length) return clip(`{${entries.map(([k, x]) => `${k}: ${String(x)}`).join(', ')}}`);
  return clip(`{${entries.map(([k]) => k).join(', ')}}`);
}

/** The top-level fields of a context, each summarised (at most 16 fields). */
export function summarizeContext(context: unknown): Record<string, string> {
  if (context === null || typeof context !== 'object') return {};
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(context)) {
    const s = summarizeValue(v);
    if (s === undefined) continue;
    if (n++ === MAX_FIELDS) {
      out['…'] = `${Object.keys(context).length - MAX_FIELDS} more`;
      break;
    }
    out[k] = s;
  }
  return out;
}
