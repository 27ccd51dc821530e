/**
 * `sector-storage dagstore …` (Lotus `cmd/lotus-miner/dagstore.go`), `pieces import FILE` (a CAR,
 * or a plain file made a UnixFS CARv1 first) and `retrieve CID --out FILE` (a piece's bytes, or the
 * DAG under a root as CARv1), through the daemon's dagstore.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import { fileToUnixfsCar } from '../../car/unixfs-car.js';
import { FileUnreadableError, InvalidArgumentError } from '../../errors.js';
import { DurableTempFile } from '../../fs/durable.js';
import { carInfo } from '../../piece/car-info.js';
import { isPieceCid } from '../../piece/piece-cid.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { tabulate } from '../output.js';
import { ProgressBar } from '../progress.js';
import { checkPayloadFile } from './pieces.js';

const listShards = defineCommand({
  path: ['dagstore', 'list-shards'],
  summary: 'list the dagstore shards (one per deal piece) and their states',
  flags: {},
  positionals: [],
  async run({ out, signal, connect }) {
    const api = await connect();
    try {
      const shards = await api.call('DagstoreListShards', { signal });
      out.result(shards, (s) => (s.length === 0 ? ['no shards'] : tabulate([['Key', 'State', 'Error'], ...s.map((x) => [x.Key, x.State, x.Error || '-'])])));
    } finally {
      api.close();
    }
  },
});

const initializeShard = defineCommand({
  path: ['dagstore', 'initialize-shard'],
  summary: 'initialize a New shard now (fetch its piece, unsealing if needed, and index it)',
  flags: {},
  positionals: [{ name: 'KEY', description: 'the shard key: a piece CID, v1 or v2' }],
  async run({ args, out, signal, connect }) {
    const api = await connect();
    try {
      await api.call('DagstoreInitializeShard', args.KEY!, { signal });
      out.result({ key: args.KEY, initialized: true }, (r) => `shard ${r.key} initialized`);
    } finally {
      api.close();
    }
  },
});

const initializeAll = defineCommand({
  path: ['dagstore', 'initialize-all'],
  summary: 'initialize every New shard whose piece is unsealed (with --include-sealed, also those that must be unsealed first)',
  flags: {
    concurrency: { type: 'string', valueName: 'N', description: 'shards initialized at once (0: all)', defaultText: '0' },
    'include-sealed': { type: 'boolean', description: 'also shards whose piece has no unsealed copy (each is unsealed: slow)' },
  },
  positionals: [],
  async run({ flags, out, signal, connect }) {
    const concurrency = flags.concurrency === undefined ? 0 : parseIntArg(flags.concurrency, '--concurrency');
    const api = await connect();
    try {
      const events = await api.call('DagstoreInitializeAll', { MaxConcurrency: concurrency, IncludeSealed: flags['include-sealed'] === true }, { signal });
      out.result(events, (ev) =>
        ev.length === 0
          ? ['no shards to initialize']
          : ev.map((e) => `(${e.Current}/${e.Total}) ${e.Key} ${e.Event === 'start' ? 'STARTING' : e.Success ? 'SUCCESS' : `ERROR ${e.Error}`}`),
      );
    } finally {
      api.close();
    }
  },
});

const recoverShard = defineCommand({
  path: ['dagstore', 'recover-shard'],
  summary: 'recover an Errored shard (its transient copy and index are dropped and built again)',
  flags: {},
  positionals: [{ name: 'KEY', description: 'the shard key: a piece CID, v1 or v2' }],
  async run({ args, out, signal, connect }) {
    const api = await connect();
    try {
      await api.call('DagstoreRecoverShard', args.KEY!, { signal });
      out.result({ key: args.KEY, recovered: true }, (r) => `shard ${r.key} recovered`);
    } finally {
      api.close();
    }
  },
});

const gc = defineCommand({
  path: ['dagstore', 'gc'],
  summary: 'drop the transient copies of shards nobody is reading (also done every minute)',
  flags: {},
  positionals: [],
  async run({ out, signal, connect }) {
    const api = await connect();
    try {
      const res = await api.call('DagstoreGC', { signal });
      out.result(res, (r) => (r.length === 0 ? ['no shards collected'] : r.map((x) => `${x.Key} ${x.Success ? 'SUCCESS' : `ERROR ${x.Error}`}`)));
    } finally {
      api.close();
    }
  },
});

const lookupPieces = defineCommand({
  path: ['dagstore', 'lookup-pieces'],
  summary: 'the shards (pieces) whose index holds a block with this CID',
  flags: {},
  positionals: [{ name: 'CID', description: 'a block CID' }],
  async run({ args, out, signal, connect }) {
    const api = await connect();
    try {
      const shards = await api.call('DagstoreLookupPieces', args.CID!, { signal });
      out.result(shards, (s) => (s.length === 0 ? [`no shard holds ${args.CID}`] : tabulate([['Key', 'State', 'Error'], ...s.map((x) => [x.Key, x.State, x.Error || '-'])])));
    } finally {
      api.close();
    }
  },
});

const importPiece = defineCommand({
  path: ['pieces', 'import'],
  summary: 'import a CAR (v1 or v2), or a plain file as a UnixFS DAG, as a deal piece with its dagstore shard',
  description:
    'A CAR file is sent as it is; any other file is first made a UnixFS DAG (ipfs-unixfs-importer, CIDv1, raw leaves, 1 MiB chunks) written as a CARv1 in a temporary directory. The daemon checks every block against its CID (a CAR with a block that does not match is refused, CAR_BLOCK_INVALID, and nothing is added), adds the CAR as a deal piece to an open sector, and registers its shard with the CARv2 index built on the way. --car refuses a file that is not a CAR instead of converting it.',
  flags: {
    sector: { type: 'string', valueName: 'N', description: 'sector number to add to (default: an open sector, or a new one)' },
    car: { type: 'boolean', description: 'FILE must be a CAR (CAR_INVALID otherwise)' },
  },
  positionals: [{ name: 'FILE', description: 'a CAR file or any file' }],
  async run({ flags, args, out, signal, connect }) {
    let file = args.FILE!;
    const sector = flags.sector === undefined ? undefined : parseIntArg(flags.sector, 'sector number (--sector)');
    await checkPayloadFile(file);
    const info = await carInfo(file, { strict: flags.car === true });
    let tmp: string | undefined;
    try {
      if (!info) {
        tmp = await mkdtemp(join(tmpdir(), 'sector-storage-import-'));
        const car = join(tmp, 'payload.car');
        const made = await fileToUnixfsCar(file, car, { signal });
        out.info(`${file} is not a CAR: imported as a UnixFS DAG, root ${made.root} (${made.blocks} blocks)`);
        file = car;
      }
      const size = (await stat(file)).size;
      const api = await connect();
      const bar = new ProgressBar({ phase: 'upload' });
      const upload = new AbortController();
      const onAbort = () => upload.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        let sent = 0;
        const chunks = (async function* () {
          for await (const c of createReadStream(file, { highWaterMark: 1 << 20, signal: upload.signal }) as AsyncIterable<Buffer>) {
            sent += c.length;
            bar.update(sent, size, 'upload');
            yield c;
          }
        })();
        const push = api.push(chunks, { signal: upload.signal });
        let r: Awaited<ReturnType<typeof api.call<'PiecesImport'>>>;
        try {
          r = await api.call('PiecesImport', size, { Type: 'push', Info: push.id }, sector === undefined ? {} : { Sector: sector }, { signal });
        } catch (err) {
          upload.abort();
          throw err;
        }
        await push.done;
        bar.finish();
        out.result(
          { pieceCid: r.PieceCID, pieceCidV2: r.PieceCIDv2, roots: r.Roots, blocks: r.Blocks, sector: r.Sector, offset: r.Offset, paddedSize: r.PaddedSize, payloadSize: r.PayloadSize },
          (x) => [
            `Piece CID:    ${x.pieceCid}`,
            `Piece CID v2: ${x.pieceCidV2}`,
            `Roots:        ${x.roots.join(', ')}`,
            `Blocks:       ${x.blocks}`,
            `Sector:       ${x.sector}`,
            `Offset:       ${x.offset} (unpadded)`,
          ],
        );
      } finally {
        bar.abort();
        signal.removeEventListener('abort', onAbort);
        api.close();
      }
    } finally {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  },
});

const retrieve = defineCommand({
  path: ['retrieve'],
  summary: 'retrieve a DAG by its root CID as a CARv1, or a piece by its piece CID, into a file',
  description:
    'For a root (or any block) CID, the DAG under it is read from the shard that holds it and written as a CARv1. For a piece CID, the piece\'s bytes (the CAR as imported). The shard is fetched and indexed first when needed, unsealing the piece if no unsealed copy is left. --format raw writes the one block.',
  flags: {
    out: { type: 'string', valueName: 'FILE', description: 'output file (required)' },
    format: { type: 'string', valueName: 'car|raw|piece', description: 'what to write (default: piece for a piece CID, else car)' },
  },
  positionals: [{ name: 'CID', description: 'a root CID or a piece CID (v1 baga…, or v2 bafkzcib…)' }],
  async run({ flags, args, out, signal, connect }) {
    if (!flags.out) throw new InvalidArgumentError('--out FILE is required');
    let cid: CID;
    try {
      cid = CID.parse(args.CID!);
    } catch (err) {
      throw new InvalidArgumentError(`${args.CID} is not a CID (${(err as Error).message})`);
    }
    const format = flags.format ?? (isPieceCid(cid) ? 'piece' : 'car');
    if (!['car', 'raw', 'piece'].includes(format)) throw new InvalidArgumentError(`--format ${format} must be car, raw or piece`);
    const api = await connect();
    let file: DurableTempFile | undefined;
    try {
      const body = await api.stream('DagstoreRetrieve', cid.toString(), format as 'car' | 'raw' | 'piece', { signal });
      try {
        file = await DurableTempFile.open(flags.out);
      } catch (err) {
        throw new FileUnreadableError(`cannot create a temp file next to --out ${flags.out}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
      }
      let written = 0;
      for await (const chunk of body) {
        await file.handle.write(chunk);
        written += chunk.byteLength;
      }
      await file.commit();
      out.result({ cid: cid.toString(), format, out: flags.out, bytes: written }, (r) => `wrote ${r.bytes} bytes (${r.format}) of ${r.cid} to ${r.out}`);
    } catch (err) {
      await file?.discard();
      throw err;
    } finally {
      api.close();
    }
  },
});

export const dagstoreCommands = [listShards, initializeShard, initializeAll, recoverShard, gc, lookupPieces, importPiece, retrieve];
