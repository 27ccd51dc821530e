/**
 * A module-resolution hook (for `module.register`) that appends every resolved URL to the file
 * named by `RESOLVE_LOG`, one per line. Hooks run on their own thread, so a file is how they
 * report back to the process that registered them.
 */
import { appendFileSync } from 'node:fs';

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<{ url: string }> {
  const result = await nextResolve(specifier, context);
  const log = process.env.RESOLVE_LOG;
  if (log) appendFileSync(log, `${result.url}\n`);
  return result;
}
