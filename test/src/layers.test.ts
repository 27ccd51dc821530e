import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled tests run from dist/test/src; the sources they check stay in the source tree
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The layers, lowest first. A module may import its own layer and the ones below it, never one
 * above. The library front door (src/sector-storage.ts) sits with the API: it re-exports the
 * library and the API client; that it stays light at run time is checked in sector-storage.test.ts.
 */
const LAYERS = [
  { name: 'library', dirs: ['src/errors.ts', 'src/version.ts', 'src/log', 'src/sector', 'src/partial', 'src/piece', 'src/car', 'src/merkle', 'src/seal', 'native', 'src/fs', 'src/auth', 'src/lifecycle', 'src/types', 'src/tasks'] },
  { name: 'storage', dirs: ['src/storage'] },
  { name: 'db/pool/repo/chain', dirs: ['src/db', 'src/pool', 'src/repo', 'src/chain'] },
  { name: 'worker', dirs: ['src/worker'] },
  { name: 'api', dirs: ['src/api', 'src/sector-storage.ts'] },
  { name: 'machines', dirs: ['machines'] },
  { name: 'actors', dirs: ['actors'] },
  { name: 'daemon', dirs: ['src/daemon'] },
  { name: 'cli', dirs: ['src/cli'] },
] as const;

const MACHINES = LAYERS.findIndex((l) => l.name === 'machines');

/** The layer index of a repository path (`src/seal/pc1.ts`), or -1 when no layer claims it. */
function layerOf(path: string): number {
  return LAYERS.findIndex((l) => l.dirs.some((d) => path === d || path.startsWith(`${d}/`)));
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** The relative imports of a TypeScript source (static, re-exports, side-effect and dynamic). */
function importsOf(source: string): Import[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Import[] = [];
  const statement = /\b(import|export)(\s+type)?\b[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]/g;
  for (const m of code.matchAll(statement)) out.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of code.matchAll(/\bimport\s*\(?\s*['"](\.[^'"]+)['"]/g)) out.push({ specifier: m[1]!, typeOnly: false });
  return out;
}

/** Every violation of the layer order among `files` (repository-relative paths with their source). */
function layerViolations(files: readonly { path: string; source: string }[]): string[] {
  const problems: string[] = [];
  for (const { path, source } of files) {
    const from = layerOf(path);
    if (from < 0) {
      problems.push(`${path} is in no layer: add its directory to LAYERS in test/src/layers.test.ts`);
      continue;
    }
    for (const imp of importsOf(source)) {
      const target = normalize(join(dirname(path), imp.specifier)).replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (to < 0) continue; // outside the layered tree (package.json, test helpers)
      if (to > from) {
        problems.push(`${path} (${LAYERS[from]!.name}) imports ${imp.specifier} (${LAYERS[to]!.name}, a higher layer)`);
      } else if (from === MACHINES && to > 0 && to < MACHINES && !imp.typeOnly) {
        problems.push(`${path} (machines) imports ${imp.specifier} (${LAYERS[to]!.name}) at run time; machines may import only types above the library`);
      }
    }
  }
  return problems;
}

function sourcesUnder(dir: string): { path: string; source: string }[] {
  const out: { path: string; source: string }[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (rel !== 'native/src' && rel !== 'native/build') out.push(...sourcesUnder(rel));
    } else if (entry.name.endsWith('.ts')) {
      out.push({ path: relative(ROOT, join(ROOT, rel)), source: readFileSync(join(ROOT, rel), 'utf8') });
    }
  }
  return out;
}

test('no module imports a higher layer, and machines import only types above the library', (t) => {
  const files = ['src', 'machines', 'actors', 'native'].flatMap(sourcesUnder);
  t.true(files.length > 100, `found only ${files.length} source files under ${ROOT}`);
  t.deepEqual(layerViolations(files), []);
});

test('the layer check names an upward import, a machine importing storage at run time, and an unplaced file', (t) => {
  const problems = layerViolations([
    { path: 'src/storage/x.ts', source: "import type { Permission } from '../auth/tokens.js';\nimport { ApiClient } from '../api/rpc-client.js';" },
    { path: 'src/seal/y.ts', source: "const m = await import('../daemon/daemon.js');" },
    { path: 'src/pool/z.ts', source: "export { a } from '../storage/local-store.js';\n// import { b } from '../cli/main.js';" },
    { path: 'machines/m.ts', source: "import type { Decl } from '../src/storage/storage-types.js';\nimport { LocalStore } from '../src/storage/local-store.js';" },
    { path: 'src/newdir/w.ts', source: '' },
  ]);
  t.deepEqual(problems, [
    'src/storage/x.ts (storage) imports ../api/rpc-client.js (api, a higher layer)',
    'src/seal/y.ts (library) imports ../daemon/daemon.js (daemon, a higher layer)',
    'machines/m.ts (machines) imports ../src/storage/local-store.js (storage) at run time; machines may import only types above the library',
    'src/newdir/w.ts is in no layer: add its directory to LAYERS in test/src/layers.test.ts',
  ]);
});
