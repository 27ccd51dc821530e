import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddressInfo, createServer } from 'node:net';
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
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    // a port of its own each time: port 0 may hand out the port the previous start just freed
    ports.push(await freePortOtherThan(ports));
    const daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--listen', `127.0.0.1:${ports[i]}`]);
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

/** A free loopback port not in `taken`. */
async function freePortOtherThan(taken: readonly number[]): Promise<number> {
  for (;;) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    if (!taken.includes(port)) return port;
  }
}
