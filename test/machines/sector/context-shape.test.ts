/**
 * A sector's context stays a fast object (V8's %HasFastProperties) through its transitions, both
 * for a new sector and for one restored from its record. XState copies the context on every
 * `assign` with `Object.assign({}, context, update)`; built the wrong way (an object literal, a
 * deleted field, a field added later) the copy became a dictionary, and each of a sector's
 * transitions spent about 100 µs copying it (machines/sector/sector-context.ts createContext).
 *
 * %HasFastProperties needs `--allow-natives-syntax`, a flag of the process, so the sectors are
 * driven in a child node process over the compiled harness.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

const here = (path: string) => new URL(path, import.meta.url).href;

const script = `
import { sectorHarness } from ${JSON.stringify(here('./sector-harness.js'))};
import { pack, ticket, pc1, pc2 } from ${JSON.stringify(here('./drive.js'))};
const fast = (h) => %HasFastProperties(h.context());
const out = {};
const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
out.created = fast(h);
await pack(h);
await ticket(h);
await pc1(h);
out.newSector = fast(h);
const record = { ...structuredClone(h.lastSave().record), lastLogAt: 1 };
h.stop();
const r = sectorHarness({ miner: 1000, number: 5, proofType: 0, record, restoredAt: 2 });
out.restored = fast(r);
await pc2(r);
out.restoredSector = fast(r);
out.state = r.state();
r.stop();
console.log(JSON.stringify(out));
`;

test('a sector context stays a fast object through its transitions, new or restored', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'context-shape-'));
  try {
    const file = join(dir, 'drive.mjs');
    writeFileSync(file, script);
    const out = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', file], { encoding: 'utf8' }).trim()) as Record<string, unknown>;
    t.is(out.state, 'PreCommitting', 'the sectors ran the transitions the test means');
    t.deepEqual(out, { created: true, newSector: true, restored: true, restoredSector: true, state: 'PreCommitting' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
