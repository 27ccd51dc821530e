/**
 * The `/inspect` page in headless Chromium (Debian's package, installed by the test setup when
 * missing; skipped with the reason where it cannot be), driven with puppeteer-core: a sector's
 * state changes on the page while it seals, and the time-travel view steps through its history.
 */
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import puppeteer, { type Browser } from 'puppeteer-core';
import { ensureChromium } from '../../helpers/chromium.js';
import { cleanup, cliJson, type DaemonProcess, managerOf, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

const chromium = ensureChromium();
const test = anyTest as TestFn<{ dir: string; repo: string; daemon: DaemonProcess; browser: Browser }>;
const browserTest = 'path' in chromium ? test.serial : test.skip;
if ('skip' in chromium) console.log(`skipping the /inspect browser test: ${chromium.skip}`);

test.before(async (t) => {
  if (!('path' in chromium)) return;
  const dir = tmpDir('ss-inspect-ui-');
  const repo = join(dir, 'repo');
  // epochs of 300 ms: the chain steps take long enough for the page to show each phase
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--epoch-ms', '300', '--seed-wait-epochs', '2']);
  const browser = await puppeteer.launch({ executablePath: chromium.path, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.context = { dir, repo, daemon, browser };
});

test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.daemon?.stop();
  if (t.context.dir) cleanup(t.context.dir);
});

browserTest('a sealing sector changes state live on /inspect and its history can be stepped back', async (t) => {
  const { repo, browser } = t.context;
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(r.url()));
  await page.goto(`${managerOf(repo).url}/inspect`);
  // page-side code is passed as text: the tests compile without the DOM library
  await page.waitForFunction(`document.getElementById('status')?.textContent === 'live'`, { timeout: 10_000 });
  t.truthy(await page.$('[data-actor="scheduler"]'), 'the tree shows the scheduler');
  t.truthy(await page.$('[data-worker="local"]'), 'the workers table shows the local worker');
  // record every state the page shows for sector 0, as it shows it
  await page.evaluate(`{
    const seen = (window.seen = []);
    const look = () => {
      const s = document.querySelector('[data-actor="sector:0"] > .row .state')?.textContent;
      if (s && seen.at(-1) !== s) seen.push(s);
    };
    new MutationObserver(look).observe(document.getElementById('tree'), { childList: true, subtree: true, characterData: true });
  }`);
  const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  t.is(id.Number, 0);
  await page.waitForFunction(`window.seen.includes('Proving')`, { timeout: 120_000 });
  const seen = (await page.evaluate('window.seen')) as string[];
  t.log(`states on the page: ${seen.join(' → ')}`);
  t.true(seen.length >= 3, `the page showed the sector in several states: ${seen.join(' → ')}`);
  t.true(
    seen.some((s) => s.startsWith('PreCommit')),
    'a sealing phase was on the page before Proving',
  );

  // time travel: select the sector, step to its first recorded state
  // found and clicked in one turn of the page: the live tree re-renders between two CDP round trips
  // (a handle from \`page.click\` can be detached by then)
  await page.evaluate(`document.querySelector('[data-actor="sector:0"] > .row').click()`);
  await page.waitForFunction(`document.getElementById('history-step')?.dataset.state === 'Proving'`, { timeout: 10_000 });
  const first = (await page.evaluate(`{
    const range = document.getElementById('timeline');
    range.value = '0';
    range.dispatchEvent(new Event('input'));
    document.getElementById('history-step').dataset.state;
  }`)) as string;
  t.log(`first step of the history: ${first}`);
  t.truthy(first);
  t.not(first, 'Proving', 'stepping back shows an earlier state');
  t.regex((await page.evaluate(`document.getElementById('history-title').textContent`)) as string, /sector 0 · \d+ steps/);
  t.deepEqual(failed, [], 'the page loaded nothing that failed');
  await page.close();
});
