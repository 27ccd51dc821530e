/**
 * The daemon's log: pino JSON lines on stderr, each with its level and component, and per-sector
 * lines carrying the sector number, as a sector seals.
 */
import { join } from 'node:path';
import test from 'ava';
import { cleanup, cliJson, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { waitForState } from '../../helpers/seal-checks.js';

test('a daemon run emits JSON log lines with levels and components, and sector lines with the sector number', async (t) => {
  const dir = tmpDir('ss-logs-');
  const repo = join(dir, 'repo');
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--epoch-ms', '100', '--seed-wait-epochs', '1']);
  let output = '';
  try {
    const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
    await waitForState(repo, id.Number, ['Proving']);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    output = (await daemon.stop()).output;
    cleanup(dir);
  }
  const json = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; time: number; component?: string; sector?: number; task?: string; msg: string; state?: string });
  t.true(json.length > 5, output);
  t.true(
    json.every((l) => typeof l.level === 'number' && typeof l.time === 'number' && typeof l.component === 'string'),
    'every line has a level, a time and a component',
  );
  t.truthy(json.find((l) => l.component === 'daemon' && /listening on/.test(l.msg)));
  const sectorLines = json.filter((l) => l.component === 'sector' && l.sector === 0);
  t.deepEqual(sectorLines.at(-1)?.state, 'Proving', 'the sector logs its state changes up to Proving');
  t.true(sectorLines.some((l) => l.state === 'PreCommit1' || l.state === 'PreCommit2'));
  t.truthy(
    json.find((l) => l.component === 'tasks' && l.sector === 0 && l.task === 'PC1' && /done/.test(l.msg)),
    'each task end is logged with its sector and type',
  );
});
