/** The program's version, from package.json (one home for `--version`, `Filecoin.Version` and the worker handshake). */
import { readFileSync } from 'node:fs';

/** The program version from package.json (`0.0.0` when it cannot be read). */
export function programVersion(): string {
  try {
    // dist/src/version.js → the package root
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
