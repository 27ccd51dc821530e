/**
 * A headless Chromium for browser tests: Debian's `chromium` package, installed with apt-get when
 * it is missing (as root, or through passwordless sudo). Where it cannot be installed the caller
 * skips its tests with the reason this returns.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function found(): string | undefined {
  const env = process.env.CHROMIUM_PATH;
  if (env && existsSync(env)) return env;
  return CANDIDATES.find((p) => existsSync(p));
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The path of a Chromium binary (installing Debian's package if needed), or why there is none. */
export function ensureChromium(): { path: string } | { skip: string } {
  const have = found();
  if (have) return { path: have };
  if (!existsSync('/usr/bin/apt-get')) return { skip: 'no Chromium found and no apt-get to install Debian\'s "chromium" (set CHROMIUM_PATH)' };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = root ? [] : ['sudo', '-n'];
  if (!root && !run('sudo', ['-n', 'true']).ok) return { skip: 'no Chromium found, and installing Debian\'s "chromium" needs root or passwordless sudo (set CHROMIUM_PATH)' };
  const apt = (args: string[]) => (prefix.length > 0 ? run(prefix[0]!, [...prefix.slice(1), 'apt-get', ...args]) : run('apt-get', args));
  let install = apt(['install', '-y', '--no-install-recommends', 'chromium']);
  if (!install.ok) {
    apt(['update']);
    install = apt(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  const path = found();
  if (path) return { path };
  return { skip: `apt-get install chromium failed: ${install.out.trim().split('\n').slice(-3).join(' | ')}` };
}
