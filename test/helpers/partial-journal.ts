/**
 * Writes a complete trailer journal next to a partial file, as a crash after the journal's
 * rename and before its application leaves it (format: partial/partial-file.ts).
 */
import { writeFile } from 'node:fs/promises';
import { journalPath } from '../../src/partial/partial-file.js';
import { encodeRuns } from '../../src/partial/rleplus.js';

/** Writes the journal of `path` for a `sectorSize`-byte sector marking `runs`; returns the trailer. */
export async function writeJournal(path: string, sectorSize: number, runs: Parameters<typeof encodeRuns>[0]): Promise<Uint8Array> {
  const trailer = encodeRuns(runs);
  const journal = Buffer.alloc(16 + trailer.length + 4);
  Buffer.from('SSPFJ1\n\0', 'latin1').copy(journal, 0);
  journal.writeBigUInt64LE(BigInt(sectorSize), 8);
  journal.set(trailer, 16);
  journal.writeUInt32LE(trailer.length, 16 + trailer.length);
  await writeFile(journalPath(path), journal);
  return trailer;
}
