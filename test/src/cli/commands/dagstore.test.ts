/**
 * `pieces import`, `retrieve`, `dagstore …` and the HTTP retrieval endpoints through a real daemon
 * (8 MiB sectors, nothing sealed: the pieces stay in an open sector's unsealed file), on the CAR
 * specification's fixtures and on a plain file made a UnixFS DAG.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarReader } from '@ipld/car/reader';
import test from 'ava';
import { blake2b256 } from '@multiformats/blake2/blake2b';
import { create as createReferenceHasher } from 'fr32-sha2-256-trunc254-padded-binary-tree-multihash';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { parsePieceCid, pieceCidV2 } from '../../../../src/piece/piece-cid.js';
import { ApiClient } from '../../../../src/api/rpc-client.js';
import { seededBytes } from '../../../helpers/bytes.js';
import { dagCar } from '../../../helpers/car-build.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

const fixtures = fileURLToPath(new URL('../../../../../test/fixtures/', import.meta.url));
const V1 = join(fixtures, 'carv1-basic.car');
const V2 = join(fixtures, 'carv2-basic.car');

let repo = '';
let daemon: DaemonProcess | undefined;
let base = '';

interface Imported {
  pieceCid: string;
  roots: string[];
  sector: number;
  offset: number;
  blocks: number;
}

test.before(async () => {
  repo = tmpDir('ss-dagstore-');
  daemon = await startDaemon(repo, daemonArgs({ sectorSize: '8MiB' }));
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/http$/.exec(readFileSync(join(repo, 'api'), 'utf8').trim())!;
  base = `http://${m[1]}:${m[2]}`;
});
test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

test.serial('a CAR imported as a piece comes back byte-identical as the piece, and as a CARv1 of its DAG with the same roots and blocks', async (t) => {
  const imported = await cliJson<Imported>(repo, ['pieces', 'import', V1]);
  const fixture = await CarReader.fromBytes(readFileSync(V1));
  t.deepEqual(imported.roots, (await fixture.getRoots()).map(String));
  t.is(imported.blocks, 8);
  t.is(imported.sector, 0);
  t.is(typeof imported.offset, 'number');
  const shards = await cliJson<{ Key: string; State: string }[]>(repo, ['dagstore', 'list-shards']);
  t.deepEqual(shards.map((s) => [s.Key, s.State]), [[imported.pieceCid, 'ShardStateAvailable']]);

  const piece = join(repo, 'piece.car');
  await cliJson(repo, ['retrieve', imported.pieceCid, '--out', piece]);
  t.deepEqual(readFileSync(piece), readFileSync(V1), 'the piece bytes are the CAR as imported');

  const root = imported.roots[1]!; // a dag-cbor root linking to dag-pb and raw blocks
  const out = join(repo, 'dag.car');
  await cliJson(repo, ['retrieve', root, '--out', out]);
  const back = await CarReader.fromBytes(readFileSync(out));
  t.deepEqual((await back.getRoots()).map(String), [root]);
  let n = 0;
  for await (const b of back.blocks()) {
    const original = await fixture.get(b.cid);
    t.truthy(original, `${b.cid} is a block of the fixture`);
    t.deepEqual(Buffer.from(b.bytes), Buffer.from(original!.bytes));
    n++;
  }
  t.true(n >= 1);
  const found = await cliJson<{ Key: string }[]>(repo, ['dagstore', 'lookup-pieces', root]);
  t.deepEqual(found.map((f) => f.Key), [imported.pieceCid]);
});

test.serial('a CARv2 and a plain file (as UnixFS) are imported; the plain file is read back from its DAG in leaf order', async (t) => {
  const v2 = await cliJson<Imported>(repo, ['pieces', 'import', V2]);
  t.deepEqual(v2.roots, ['QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z']);
  const plain = join(repo, 'plain.bin');
  const data = seededBytes(1024 * 1024 + 12345, 8);
  writeFileSync(plain, data);
  const r = await runCli(repo, ['pieces', 'import', plain, '--json']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /is not a CAR: imported as a UnixFS DAG, root bafy/);
  const imported = JSON.parse(r.stdout) as Imported;
  const out = join(repo, 'plain.car');
  await cliJson(repo, ['retrieve', imported.roots[0]!, '--out', out]);
  const car = await CarReader.fromBytes(readFileSync(out));
  const leaves: Uint8Array[] = [];
  for await (const b of car.blocks()) if (b.cid.code === 0x55) leaves.push(b.bytes);
  t.is(leaves.length, 2, '1 MiB chunks');
  t.deepEqual(Buffer.concat(leaves), Buffer.from(data));
});

test.serial('bad CARs are refused with a coded error and register no shard', async (t) => {
  const before = await cliJson<unknown[]>(repo, ['dagstore', 'list-shards']);
  const flipped = Buffer.from(readFileSync(V1));
  flipped[700]! ^= 0xff;
  const bad = join(repo, 'flipped.car');
  writeFileSync(bad, flipped);
  let r = await runCli(repo, ['pieces', 'import', bad]);
  t.is(r.code, 1);
  t.regex(r.stderr, /the bytes of block bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm do not hash to its CID \[CAR_BLOCK_INVALID\]/);
  const cut = join(repo, 'cut.car');
  writeFileSync(cut, readFileSync(V1).subarray(0, 300));
  r = await runCli(repo, ['pieces', 'import', cut]);
  t.is(r.code, 1);
  t.regex(r.stderr, /is not a valid CAR: .* \[CAR_INVALID\]/);
  r = await runCli(repo, ['pieces', 'import', join(fixtures, 'carv1-truncated-header.car'), '--car']);
  t.regex(r.stderr, /is not a valid CAR.*\[CAR_INVALID\]/);
  const text = join(repo, 'text.txt');
  writeFileSync(text, 'not a car\n');
  r = await runCli(repo, ['pieces', 'import', text, '--car']);
  t.regex(r.stderr, /is not a valid CAR.*\[CAR_INVALID\]/);
  r = await runCli(repo, ['retrieve', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', '--out', join(repo, 'none.car')]);
  t.regex(r.stderr, /no shard holds bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy \[BLOCK_NOT_FOUND\]/);
  r = await runCli(repo, ['retrieve', 'notacid', '--out', join(repo, 'none.car')]);
  t.regex(r.stderr, /notacid is not a CID/);
  t.deepEqual(await cliJson<unknown[]>(repo, ['dagstore', 'list-shards']), before, 'no shard half-registered');
});

test.serial('HTTP: GET /piece with Range, /ipfs as raw or CAR by format or Accept, 406 without either, 404 for unknown CIDs', async (t) => {
  const [shard] = await cliJson<{ Key: string }[]>(repo, ['dagstore', 'lookup-pieces', 'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm']);
  const pieceCid = shard!.Key;
  const car = readFileSync(V1);
  let res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: 'bytes=10-109' } });
  t.is(res.status, 206);
  t.is(res.headers.get('content-range'), `bytes 10-109/${car.length}`);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), car.subarray(10, 110));
  res = await fetch(`${base}/piece/${pieceCid}`);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), car);
  res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: 'bytes=9999-' } });
  t.is(res.status, 416);
  await res.arrayBuffer();
  const leaf = 'bafkreifw7plhl6mofk6sfvhnfh64qmkq73oeqwl6sloru6rehaoujituke';
  const fixture = await CarReader.fromBytes(car);
  res = await fetch(`${base}/ipfs/${leaf}?format=raw`);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/vnd.ipld.raw');
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from((await fixture.get((await import('multiformats/cid')).CID.parse(leaf)))!.bytes));
  res = await fetch(`${base}/ipfs/bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm`, { headers: { Accept: 'application/vnd.ipld.car' } });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/vnd\.ipld\.car/);
  const got = await CarReader.fromBytes(new Uint8Array(await res.arrayBuffer()));
  t.deepEqual((await got.getRoots()).map(String), ['bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm']);
  res = await fetch(`${base}/ipfs/${leaf}`);
  t.is(res.status, 406);
  t.like(await res.json(), { code: 'INVALID_ARGUMENT' });
  res = await fetch(`${base}/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw`);
  t.is(res.status, 404);
  t.like(await res.json(), { code: 'BLOCK_NOT_FOUND' });
});

test.serial('a CAR added with pieces add (not import) becomes a lazy shard: its bytes served from the sector, its DAG once initialized', async (t) => {
  const { car, root, blocks } = await dagCar([seededBytes(3000, 21), seededBytes(5000, 22)]);
  const file = join(repo, 'added.car');
  writeFileSync(file, car);
  const added = await cliJson<{ pieceCid: string; sector: number }>(repo, ['pieces', 'add', file]);
  const shards = await cliJson<{ Key: string; State: string }[]>(repo, ['dagstore', 'list-shards']);
  t.deepEqual(shards.filter((s) => s.Key === added.pieceCid).map((s) => s.State), ['ShardStateNew'], 'registered lazily when the piece was added');
  // its bytes are read out of the sector by piece CID; a lazy shard has no index yet, so its
  // root is found once the shard is mounted (initialized)
  const piece = join(repo, 'added-piece.car');
  await cliJson(repo, ['retrieve', added.pieceCid, '--out', piece]);
  t.deepEqual(readFileSync(piece), Buffer.from(car));
  await cliJson(repo, ['dagstore', 'initialize-shard', added.pieceCid]);
  const out = join(repo, 'added-dag.car');
  await cliJson(repo, ['retrieve', root.toString(), '--out', out]);
  const back = await CarReader.fromBytes(readFileSync(out));
  t.deepEqual((await back.getRoots()).map(String), [root.toString()]);
  for (const b of blocks) t.deepEqual(Buffer.from((await back.get(b.cid))!.bytes), Buffer.from(b.bytes), `${b.cid}`);
  const after = await cliJson<{ Key: string; State: string }[]>(repo, ['dagstore', 'list-shards']);
  t.deepEqual(after.filter((s) => s.Key === added.pieceCid).map((s) => s.State), ['ShardStateAvailable']);
});

test.serial('a piece added through the API (SectorAddPieceToAny) becomes a shard, found by its root', async (t) => {
  const { car, root } = await dagCar([seededBytes(4000, 31)]);
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/http$/.exec(readFileSync(join(repo, 'api'), 'utf8').trim())!;
  const api = new ApiClient({ url: `http://${m[1]}:${m[2]}`, token: readFileSync(join(repo, 'token'), 'utf8').trim() });
  try {
    const push = api.push((async function* () {
      yield car;
    })());
    const added = await api.call('SectorAddPieceToAny', car.length, { Type: 'push', Info: push.id }, {});
    await push.done;
    const shards = await api.call('DagstoreListShards');
    t.deepEqual(shards.filter((s) => s.Key === added.PieceCID).map((s) => s.State), ['ShardStateNew']);
    let res = await fetch(`${base}/piece/${added.PieceCID}`);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(car));
    await api.call('DagstoreInitializeShard', added.PieceCID);
    res = await fetch(`${base}/ipfs/${root}?format=car`);
    t.is(res.status, 200);
    const back = await CarReader.fromBytes(new Uint8Array(await res.arrayBuffer()));
    t.deepEqual((await back.getRoots()).map(String), [root.toString()]);
    t.deepEqual((await api.call('DagstoreLookupPieces', root.toString())).map((s) => s.Key), [added.PieceCID]);
  } finally {
    api.close();
  }
});

test.serial('a CAR of BLAKE2b-256 blocks is imported and its blocks served by CID', async (t) => {
  const { car, root, blocks } = await dagCar([seededBytes(2000, 41), seededBytes(3000, 42)], blake2b256);
  const file = join(repo, 'blake2b.car');
  writeFileSync(file, car);
  const imported = await cliJson<Imported>(repo, ['pieces', 'import', file, '--car']);
  t.deepEqual(imported.roots, [root.toString()]);
  const leaf = blocks[1]!;
  t.is(leaf.cid.multihash.code, 0xb220);
  const res = await fetch(`${base}/ipfs/${leaf.cid}?format=raw`);
  t.is(res.status, 200);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(leaf.bytes));
});

/** The v2 piece CID of `bytes` (smallest piece) by the FRC-0069 reference hasher (Rust, as WASM). */
function referencePieceCidV2(bytes: Uint8Array): CID {
  const hasher = createReferenceHasher();
  hasher.write(bytes);
  const mh = new Uint8Array(hasher.multihashByteLength());
  hasher.digestInto(mh, 0, true);
  hasher.free();
  return CID.create(1, 0x55, Digest.decode(mh));
}

test.serial('a v2 piece CID (FRC-0069) names its piece wherever a piece CID does: retrieve, /piece, initialize-shard, recover-shard', async (t) => {
  const { car } = await dagCar([seededBytes(6000, 51)]);
  const file = join(repo, 'v2.car');
  writeFileSync(file, car);
  const added = await cliJson<{ pieceCid: string; pieceCidV2: string }>(repo, ['pieces', 'add', file]);
  const v2 = referencePieceCidV2(car);
  t.is(added.pieceCidV2, v2.toString(), 'the daemon\'s v2 CID is the reference hasher\'s');
  const v2out = join(repo, 'v2-piece.car');
  const got = await cliJson<{ format: string }>(repo, ['retrieve', v2.toString(), '--out', v2out]);
  t.is(got.format, 'piece', 'a v2 piece CID is retrieved as a piece by default');
  t.deepEqual(readFileSync(v2out), Buffer.from(car));
  const res = await fetch(`${base}/piece/${v2}`, { headers: { Range: `bytes=100-199` } });
  t.is(res.status, 206);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(car.subarray(100, 200)));
  await cliJson(repo, ['dagstore', 'initialize-shard', v2.toString()]);
  const shards = await cliJson<{ Key: string; State: string }[]>(repo, ['dagstore', 'list-shards']);
  t.deepEqual(shards.filter((s) => s.Key === added.pieceCid).map((s) => s.State), ['ShardStateAvailable'], 'the shard is keyed by the v1 CID');
  const r = await runCli(repo, ['dagstore', 'recover-shard', v2.toString()]);
  t.regex(r.stderr, new RegExp(`shard ${added.pieceCid}: expected state ShardStateErrored, was: ShardStateAvailable \\[SHARD_STATE_INVALID\\]`));
});

test.serial('a v2 piece CID whose sizes are not the piece\'s is refused PIECE_CID_INVALID, naming both', async (t) => {
  const imported = await cliJson<Imported & { pieceCidV2: string; payloadSize: number; paddedSize: number }>(repo, ['pieces', 'import', V1]);
  const commP = parsePieceCid(imported.pieceCid).commP;
  const wrongPayload = pieceCidV2(commP, imported.paddedSize, imported.payloadSize - 1).toString();
  const wrongPiece = pieceCidV2(commP, imported.paddedSize * 2, imported.payloadSize).toString();
  for (const bad of [wrongPayload, wrongPiece]) {
    const r = await runCli(repo, ['retrieve', bad, '--out', join(repo, 'never.car')]);
    t.regex(r.stderr, new RegExp(`piece CID v2 ${bad} says a \\d+-byte payload in a \\d+-byte piece, but piece ${imported.pieceCid} holds ${imported.payloadSize} bytes in a ${imported.paddedSize}-byte piece \\[PIECE_CID_INVALID\\]`));
    const res = await fetch(`${base}/piece/${bad}`);
    t.is(res.status, 400);
    t.like(await res.json(), { code: 'PIECE_CID_INVALID' });
    const init = await runCli(repo, ['dagstore', 'initialize-shard', bad]);
    t.regex(init.stderr, /\[PIECE_CID_INVALID\]/);
  }
  t.false(existsSync(join(repo, 'never.car')));
});

test.serial('dagstore gc drops idle transients, the next retrieval fetches the piece again; recover-shard refuses a shard that is not Errored', async (t) => {
  // the daemon's own GC (every minute) may have run already: a DAG retrieval mounts the shard again
  const [shard] = await cliJson<{ Key: string }[]>(repo, ['dagstore', 'lookup-pieces', 'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm']);
  await cliJson(repo, ['retrieve', 'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm', '--out', join(repo, 'mount.car')]);
  const collected = await cliJson<{ Key: string; Success: boolean }[]>(repo, ['dagstore', 'gc']);
  t.true(collected.some((c) => c.Key === shard!.Key) && collected.every((c) => c.Success), JSON.stringify(collected));
  t.deepEqual(await cliJson(repo, ['dagstore', 'gc']), [], 'nothing left');
  const out = join(repo, 'again.car');
  await cliJson(repo, ['retrieve', shard!.Key, '--out', out]);
  t.deepEqual(readFileSync(out), readFileSync(V1), 'read back out of the sector');
  const r = await runCli(repo, ['dagstore', 'recover-shard', shard!.Key]);
  t.regex(r.stderr, /expected state ShardStateErrored, was: ShardStateAvailable \[SHARD_STATE_INVALID\]/);
  const init = await runCli(repo, ['dagstore', 'initialize-shard', shard!.Key]);
  t.regex(init.stderr, /expected state ShardStateNew/);
});
