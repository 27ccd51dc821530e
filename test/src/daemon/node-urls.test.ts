import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { cleanup, cliJson, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

interface ListEntry {
  info: { ID: string; URLs: string[] };
  local?: string;
}

test.serial('a daemon restarted on a new port advertises only its new address for its storage path', async (t) => {
  const repo = tmpDir('ss-urls-');
  t.teardown(() => cleanup(repo));
  const urls: string[] = [];
  for (let i = 0; i < 3; i++) {
    const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
    try {
      const api = readFileSync(join(repo, 'api'), 'utf8');
      const port = /\/tcp\/(\d+)\//.exec(api)?.[1];
      const list = await cliJson<ListEntry[]>(repo, ['storage', 'list']);
      t.is(list.length, 1);
      t.deepEqual(list[0]?.info.URLs, [`http://127.0.0.1:${port}/remote`], `start ${i + 1}: only the live address`);
      urls.push(...(list[0]?.info.URLs ?? []));
    } finally {
      await daemon.stop();
    }
  }
  t.is(new Set(urls).size, 3, 'each start listened on its own port');
  const config = JSON.parse(readFileSync(join(repo, 'config.json'), 'utf8')) as { nodeId?: string };
  t.regex(config.nodeId ?? '', /^[0-9a-f-]{36}$/, 'the repository keeps a persistent node id');
});
