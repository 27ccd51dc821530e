/**
 * Validators for JSON-RPC params. Lotus passes params positionally; each validator names the
 * param in its error (InvalidArgumentError → JSON-RPC -32602 with our code in `data`).
 */
import { InvalidArgumentError } from '../errors.js';

/** Throws unless `raw` has between `min` and `max` params. */
export function expectArity(raw: unknown[], min: number, max = min): void {
  if (raw.length < min || raw.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new InvalidArgumentError(`expected ${want} params, got ${raw.length}`);
  }
}

/** A non-negative safe integer param. */
export function intParam(raw: unknown[], i: number, name: string): number {
  const v = raw[i];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(`param ${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** An optional non-negative integer param (`null`/absent → undefined). */
export function optionalIntParam(raw: unknown[], i: number, name: string): number | undefined {
  return raw[i] === undefined || raw[i] === null ? undefined : intParam(raw, i, name);
}

/** A string param. */
export function stringParam(raw: unknown[], i: number, name: string): string {
  const v = raw[i];
  if (typeof v !== 'string') throw new InvalidArgumentError(`param ${name} must be a string (got ${JSON.stringify(v)})`);
  return v;
}

/** A plain-object param. */
export function objectParam(raw: unknown[], i: number, name: string): Record<string, unknown> {
  const v = raw[i];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`param ${name} must be an object (got ${JSON.stringify(v)})`);
  }
  return v as Record<string, unknown>;
}

/** A non-negative integer field of an object param (optional unless `required`). */
export function intField(obj: Record<string, unknown>, key: string, where: string, required: true): number;
export function intField(obj: Record<string, unknown>, key: string, where: string, required?: false): number | undefined;
export function intField(obj: Record<string, unknown>, key: string, where: string, required = false): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new InvalidArgumentError(`${where}.${key} is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(`${where}.${key} must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
  return v;
}
