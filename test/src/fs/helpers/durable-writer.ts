/**
 * Child process for the kill -9 test of writeFileDurable: rewrites `argv[2]` forever, each
 * version 1 MiB of one repeated byte (the version number), and says "written N" after each.
 */
import { writeFileDurable } from '../../../../src/fs/durable.js';

const path = process.argv[2]!;
for (let version = 1; ; version++) {
  await writeFileDurable(path, new Uint8Array(1 << 20).fill(version & 0xff));
  process.stdout.write(`written ${version}\n`);
}
