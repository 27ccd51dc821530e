/**
 * Child process for the kill -9 tests of writeFileDurable and replaceFileUnsynced: rewrites
 * `argv[2]` forever with the function named by `argv[3]` (`durable`, the default, or `unsynced`),
 * each version 1 MiB of one repeated byte (the version number), and says "written N" after each.
 */
import { replaceFileUnsynced, writeFileDurable } from '../../../../src/fs/durable.js';

const path = process.argv[2]!;
const write = process.argv[3] === 'unsynced' ? replaceFileUnsynced : writeFileDurable;
for (let version = 1; ; version++) {
  await write(path, new Uint8Array(1 << 20).fill(version & 0xff));
  process.stdout.write(`written ${version}\n`);
}
