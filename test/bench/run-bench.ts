/**
 * `npm run bench`: runs every `*.bench.js` scenario in a fresh child process (so one scenario's
 * heap, caches and threads cannot colour another's numbers), collects the `BENCH {json}` lines
 * each prints, and prints one table with the machine it ran on.
 *
 * Usage: npm run bench [-- name-filter …]   (BENCH_QUICK=1 for small sizes)
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measurement printed by a scenario. */
export interface BenchLine {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function runScenario(file: string): Promise<{ lines: BenchLine[]; ok: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: BenchLine[] = [];
    let buffered = '';
    child.stdout.on('data', (data: Buffer) => {
      buffered += data.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('BENCH ')) {
          const parsed = JSON.parse(line.slice(6)) as BenchLine;
          lines.push(parsed);
          process.stdout.write(`  ${format(parsed)}\n`);
        } else if (line.trim() !== '') {
          process.stdout.write(`  | ${line}\n`);
        }
        nl = buffered.indexOf('\n');
      }
    });
    child.on('close', (code) => resolve({ lines, ok: code === 0 }));
  });
}

function format(l: BenchLine): string {
  const v = Math.abs(l.value) >= 100 ? l.value.toFixed(0) : l.value.toPrecision(3);
  return `${l.name.padEnd(48)} ${v.padStart(12)} ${l.unit.padEnd(10)} ${l.note ?? ''}`;
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `sector-storage benchmarks — ${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}${process.env.BENCH_QUICK ? ', BENCH_QUICK' : ''}`,
);
let failed = 0;
const all: { file: string; lines: BenchLine[] }[] = [];
for (const file of files) {
  console.log(`\n${file}`);
  const { lines, ok } = await runScenario(file);
  if (!ok) {
    failed++;
    console.log(`  ${file} FAILED`);
  }
  all.push({ file, lines });
}
console.log('\n| scenario | measurement | value | unit | note |\n|---|---|---|---|---|');
for (const { file, lines } of all) {
  for (const l of lines) {
    const v = Math.abs(l.value) >= 100 ? l.value.toFixed(0) : l.value.toPrecision(3);
    console.log(`| ${file.replace('.bench.js', '')} | ${l.name} | ${v} | ${l.unit} | ${l.note ?? ''} |`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
