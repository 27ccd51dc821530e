/**
 * `pieces read` verifies a whole piece against its piece CID: corrupted bytes fail with
 * PIECE_CORRUPT and leave no output file, `--no-verify` skips the check, and a range that is not a
 * whole piece is read unverified, saying so.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ApiClient } from '../../../../src/api/rpc-client.js';
import { multiaddrToUrl } from '../../../../src/repo/api-info.js';
import { cleanup, cliJson, type DaemonProcess, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

interface Added {
  pieceCid: string;
  sector: number;
  offset: number;
  paddedOffset: number;
  payloadSize: number;
}

let repo = '';
let daemon: DaemonProcess | undefined;
test.before(async () => {
  repo = tmpDir('ss-verify-');
  daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
});
test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

async function addPiece(name: string, size: number): Promise<{ added: Added; bytes: Buffer }> {
  const bytes = randomBytes(size);
  const file = join(repo, name);
  writeFileSync(file, bytes);
  return { added: await cliJson<Added>(repo, ['pieces', 'add', file]), bytes };
}

/** Overwrites 8 bytes of the piece's data in the sector's unsealed file. */
function corrupt(added: Added, at = 300): void {
  const fd = openSync(join(repo, 'storage', 'unsealed', `s-t01000-${added.sector}`), 'r+');
  writeSync(fd, Buffer.alloc(8, 0x5a), 0, 8, added.paddedOffset + at);
  closeSync(fd);
}

test.serial('a whole piece is verified against its piece CID by default', async (t) => {
  const { added, bytes } = await addPiece('good.bin', 900);
  const out = join(repo, 'good.out');
  const r = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(added.payloadSize), '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`verified against piece ${added.pieceCid}`));
  t.true(readFileSync(out).equals(bytes));
  const json = await cliJson<{ verified: boolean; pieceCid: string }>(repo, [
    'pieces', 'read', String(added.sector), String(added.offset), String(added.payloadSize), '--out', join(repo, 'good2.out'),
  ]);
  t.like(json, { verified: true, pieceCid: added.pieceCid });
});

test.serial('a corrupted piece fails PIECE_CORRUPT naming the sector, the piece and both CIDs, and writes no file', async (t) => {
  const { added } = await addPiece('bad.bin', 900);
  corrupt(added);
  const outDir = join(repo, 'bad-out');
  const out = join(outDir, 'bad.out');
  mkdirSync(outDir);
  const r = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(added.payloadSize), '--out', out]);
  t.is(r.code, 1);
  t.regex(
    r.stderr,
    new RegExp(`sector ${added.sector}: the piece ${added.pieceCid} at offset ${added.offset} reads back as baga6ea4seaq\\w+: its stored bytes are corrupt \\[PIECE_CORRUPT\\]`),
  );
  t.false(existsSync(out));
  t.deepEqual(readdirSync(outDir), [], 'no temporary file is left either');

  const unverified = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(added.payloadSize), '--out', out, '--no-verify']);
  t.is(unverified.code, 0, unverified.stderr);
  t.regex(unverified.stdout, /not verified \(--no-verify\)/);
  t.true(existsSync(out), '--no-verify returns the bytes as stored');
});

test.serial('a range that is not a whole piece is read unverified, and says so', async (t) => {
  const { added, bytes } = await addPiece('range.bin', 900);
  const out = join(repo, 'range.out');
  const r = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), '100', '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /not verified \(the range is not a whole piece/);
  t.true(readFileSync(out).equals(bytes.subarray(0, 100)));
});

test.serial('the API verifies on request and refuses to verify a range that is not a whole piece', async (t) => {
  const { added } = await addPiece('api.bin', 500);
  corrupt(added, 10);
  const api = new ApiClient({ url: multiaddrToUrl(readFileSync(join(repo, 'api'), 'utf8')), token: readFileSync(join(repo, 'token'), 'utf8').trim() });
  t.teardown(() => api.close());
  const drain = async (it: AsyncIterable<Uint8Array>) => {
    let n = 0;
    for await (const c of it) n += c.length;
    return n;
  };
  // one chunk, held back until verified: the error comes before the body starts
  await t.throwsAsync(async () => drain(await api.stream('SectorsReadPiece', added.sector, added.offset, added.payloadSize)), {
    code: 'PIECE_CORRUPT',
  });
  const raw = await api.stream('SectorsReadPiece', added.sector, added.offset, added.payloadSize, { Verify: false });
  t.is(await drain(raw), added.payloadSize);
  await t.throwsAsync(api.stream('SectorsReadPiece', added.sector, added.offset, 10, { Verify: true }), {
    code: 'INVALID_ARGUMENT',
    message: /not a whole piece/,
  });
});
