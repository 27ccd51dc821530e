/**
 * Runs one PC1 in its own process for the crash/resume test: argv[2] is the JSON input of
 * sealPreCommit1 (ticket as hex). Prints every progress report as a JSON line on stdout
 * (unthrottled) and a final {"done":…} line.
 */
import { sealPreCommit1 } from '../../../../src/seal/pc1.js';

const input = JSON.parse(process.argv[2] ?? '{}');
const out = await sealPreCommit1(input, {
  progress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
  cancelled: false,
  throwIfCancelled() {},
});
process.stdout.write(`${JSON.stringify({ done: out })}\n`);
