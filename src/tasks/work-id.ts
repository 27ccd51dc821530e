/**
 * WorkID: the identity of a piece of work across restarts (Lotus
 * `extern/sector-storage/manager_calltracker.go`). The same task with the same inputs always
 * gets the same WorkID, so a sector restored after a crash that asks again for its PC1 is
 * attached to the call already made for it instead of starting a second one.
 *
 * Lotus hashes the JSON of the arguments only when it is longer than 256 bytes; here it is
 * always hashed, so every WorkID has one shape: `<type>(<64 hex>)`. Priority is not part of it
 * (the same work asked with another priority is the same work).
 */
import { createHash } from 'node:crypto';
import type { Task } from './task-types.js';

/** JSON with object keys sorted and no whitespace, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not JSON`);
    if (value === undefined) throw new TypeError('canonicalJson: undefined is not JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The WorkID of a task: `<type>(<sha256 of the canonical JSON of sector, proof and input>)`. */
export function workIdOf(task: Task): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ sector: task.sector, proofType: task.proofType, input: task.input }))
    .digest('hex');
  return `${task.type}(${digest})`;
}
