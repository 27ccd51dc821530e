/**
 * A small tmpfs for disk-full tests: `mount -t tmpfs -o size=N` on a fresh directory. Only root
 * can mount; elsewhere {@link TMPFS_UNAVAILABLE} says why and the tests that need one are skipped
 * with that reason in their title.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why no tmpfs can be mounted here, or undefined when it can. */
export const TMPFS_UNAVAILABLE: string | undefined = probe();

function probe(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (run the tests as root to include them)';
  const dir = mkdtempSync(join(tmpdir(), 'ss-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A mounted tmpfs of `bytes`; `unmount()` removes it and its directory. */
export function mountTmpfs(bytes: number): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ss-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
