import { randomBytes } from 'node:crypto';
import test from 'ava';
import { ALL_PERMISSIONS, TokenAuthority } from '../../../src/auth/tokens.js';
import type { ApiComponents, SectorApiService } from '../../../src/api/components.js';
import type { AddPieceRequest } from '../../../src/piece/add-piece.js';
import { ApiHttpServer } from '../../../src/api/http-server.js';
import { apiMethods } from '../../../src/api/methods/index.js';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import { CallUnknownError, type SectorStorageError, SectorUnknownError, UnauthorizedError } from '../../../src/errors.js';
import type { SectorRecord } from '../../../src/db/sector-store.js';

/** An in-memory sector service: keeps each added piece's bytes so reads can be checked. */
function memorySectors(): SectorApiService & { data: Map<number, Uint8Array> } {
  const data = new Map<number, Uint8Array>();
  const records = new Map<number, SectorRecord>();
  return {
    data,
    async addPiece(req: AddPieceRequest) {
      const parts: Uint8Array[] = [];
      for await (const c of req.source) parts.push(c);
      const bytes = Buffer.concat(parts);
      const n = req.sector ?? 1;
      data.set(n, bytes);
      records.set(n, {
        v: 2,
        miner: 1000,
        number: n,
        proofType: 5,
        state: 'WaitDeals',
        pieces: [{ pieceCid: 'baga-test', pieceCidV2: 'bafk-test', paddedOffset: 0, paddedSize: req.pieceSize ?? 128, payloadSize: bytes.length, filler: false }],
        packingRequested: false,
        counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
        lastLogAt: 1,
        updatedAt: 1,
      });
      return { sector: n, pieceCid: 'baga-test', pieceCidV2: 'bafk-test', paddedSize: req.pieceSize ?? 128, payloadSize: bytes.length, paddedOffset: 0, offset: 0 };
    },
    async *readPiece({ sector, offset, size }) {
      const bytes = data.get(sector);
      if (!bytes) throw new SectorUnknownError(`sector ${sector} does not exist`);
      for (let o = offset; o < offset + size; o += 1000) yield bytes.subarray(o, Math.min(o + 1000, offset + size));
    },
    async listSectors() {
      return [...records.values()];
    },
    async storageAttached() {
      return [];
    },
    async unreadable() {
      return [];
    },
    async sectorStatus(n: number) {
      const r = records.get(n);
      if (!r) throw new SectorUnknownError(`sector ${n} does not exist`);
      return r;
    },
    async status(n: number) {
      return { record: await this.sectorStatus(n), log: [] };
    },
    async listInStates(states) {
      return [...records.values()].filter((r) => states.includes(r.state));
    },
    async summary() {
      const out: Record<string, number> = {};
      for (const r of records.values()) out[r.state] = (out[r.state] ?? 0) + 1;
      return out;
    },
    async logMarks() {
      return [];
    },
    async pledge() {
      const n = Math.max(0, ...records.keys()) + 1;
      records.set(n, { ...blankRecord(n), state: 'Packing', packingRequested: true });
      return n;
    },
    async startPacking(n: number) {
      const r = await this.sectorStatus(n);
      records.set(n, { ...r, packingRequested: true });
    },
    async remove(n: number) {
      const r = await this.sectorStatus(n);
      records.set(n, { ...r, state: 'Removed' });
    },
    async findCall(id: string): Promise<never> {
      throw new CallUnknownError(`no call id starts with "${id}"`);
    },
    async abort(id: string): Promise<never> {
      throw new CallUnknownError(`no call id starts with "${id}"`);
    },
    async jobs() {
      return [];
    },
    async calls() {
      return [];
    },
    async drift() {
      return { unrecorded: [], missing: [], maxNumberOnPaths: undefined };
    },
    async resolveDrift(n: number): Promise<never> {
      throw new SectorUnknownError(`sector ${n} does not exist: it has no record and no file`);
    },
  };
}

function blankRecord(n: number): SectorRecord {
  return {
    v: 2,
    miner: 1000,
    number: n,
    proofType: 5,
    state: 'WaitDeals',
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    lastLogAt: 1,
    updatedAt: 1,
  };
}

async function start() {
  const authority = new TokenAuthority(randomBytes(32));
  const sectors = memorySectors();
  const components: ApiComponents = {
    daemon: {
      session: 'session-1',
      version: '0.0.0-test',
      repoPath: '/nowhere',
      minerId: 1000,
      sealProof: 5,
      sectorSize: 2048,
      createToken: (p) => authority.createToken(p),
      verifyToken: (t) => authority.verifyToken(t),
    },
    sectors,
  };
  const streams = new StreamRegistry(2000);
  const rpc = new RpcServer(apiMethods, components, streams);
  const server = new ApiHttpServer({ rpc, streams, authenticate: (t) => authority.verifyToken(t) });
  const { port } = await server.listen('127.0.0.1', 0);
  const url = `http://127.0.0.1:${port}`;
  return { authority, sectors, server, url };
}

test.serial('pushes an upload stream, adds it as a piece and streams it back byte-exact', async (t) => {
  const { authority, server, url } = await start();
  const api = new ApiClient({ url, token: authority.createToken(ALL_PERMISSIONS) });
  try {
    const payload = randomBytes(1500);
    const push = api.push((async function* () {
      yield payload.subarray(0, 700);
      yield payload.subarray(700);
    })());
    const added = await api.call('SectorAddPieceToAny', payload.length, { Type: 'push', Info: push.id }, { Sector: 3, PieceSize: 2048 });
    await push.done;
    t.is(added.Sector, 3);
    t.is(added.PayloadSize, 1500);
    const parts: Uint8Array[] = [];
    for await (const c of await api.stream('SectorsReadPiece', 3, 100, 1200)) parts.push(c);
    t.deepEqual(Buffer.concat(parts), payload.subarray(100, 1300));
    const status = await api.call('SectorsStatus', 3);
    t.is(status.State, 'WaitDeals');
    t.is(status.Pieces[0]?.PieceCID, 'baga-test');
  } finally {
    api.close();
    await server.close();
  }
});

test.serial('rebuilds typed errors from the wire, before and inside a stream', async (t) => {
  const { authority, server, url } = await start();
  const api = new ApiClient({ url, token: authority.createToken(ALL_PERMISSIONS) });
  try {
    const err = await t.throwsAsync(api.call('SectorsStatus', 42));
    t.true(err instanceof SectorUnknownError);
    t.is((err as SectorStorageError).code, 'SECTOR_UNKNOWN');
    t.regex(err!.message, /sector 42/);
    const readErr = await t.throwsAsync(async () => {
      for await (const _ of await api.stream('SectorsReadPiece', 9, 0, 10)) void _;
    });
    t.is((readErr as SectorStorageError).code, 'SECTOR_UNKNOWN');
  } finally {
    api.close();
    await server.close();
  }
});

test.serial('refuses write methods without a token or with a read-only token, and bad tokens entirely', async (t) => {
  const { authority, server, url } = await start();
  const anonymous = new ApiClient({ url });
  const reader = new ApiClient({ url, token: authority.createToken(['read']) });
  const forged = new ApiClient({ url, token: new TokenAuthority(randomBytes(32)).createToken(ALL_PERMISSIONS) });
  try {
    t.is(await anonymous.call('Session'), 'session-1');
    t.deepEqual(await reader.call('SectorsList'), []);
    for (const api of [anonymous, reader]) {
      const push = api.push((async function* () {
        yield new Uint8Array(200);
      })());
      const err = await t.throwsAsync(api.call('SectorAddPieceToAny', 200, { Type: 'push', Info: push.id }));
      t.true(err instanceof UnauthorizedError);
      t.regex(err!.message, /need 'admin'/);
      await t.throwsAsync(push.done, { instanceOf: UnauthorizedError });
    }
    const err = await t.throwsAsync(forged.call('Session'));
    t.true(err instanceof UnauthorizedError);
    t.regex(err!.message, /signature/);
  } finally {
    for (const c of [anonymous, reader, forged]) c.close();
    await server.close();
  }
});

test.serial('rejects a payload larger than the sector and a declared piece size that is not a power of two', async (t) => {
  const { authority, server, url } = await start();
  const api = new ApiClient({ url, token: authority.createToken(ALL_PERMISSIONS) });
  try {
    const tooBig = await t.throwsAsync(api.call('SectorAddPieceToAny', 4000, { Type: 'push', Info: crypto.randomUUID() }));
    t.is((tooBig as { code?: string }).code, 'PAYLOAD_TOO_LARGE');
    const badSize = await t.throwsAsync(
      api.call('SectorAddPieceToAny', 100, { Type: 'push', Info: crypto.randomUUID() }, { PieceSize: 300 }),
    );
    t.is((badSize as { code?: string }).code, 'PIECE_SIZE_INVALID');
    t.regex(badSize!.message, /300/);
  } finally {
    api.close();
    await server.close();
  }
});

test.serial('an upload shorter or longer than the declared payload size fails as PAYLOAD_TOO_SMALL / PAYLOAD_TOO_LARGE', async (t) => {
  const { authority, server, url } = await start();
  const api = new ApiClient({ url, token: authority.createToken(ALL_PERMISSIONS) });
  try {
    for (const [sent, code] of [
      [1000, 'PAYLOAD_TOO_SMALL'],
      [1800, 'PAYLOAD_TOO_LARGE'],
    ] as const) {
      const push = api.push((async function* () {
        yield new Uint8Array(sent);
      })());
      const err = await t.throwsAsync(api.call('SectorAddPieceToAny', 1500, { Type: 'push', Info: push.id }, { Sector: 4 }));
      t.is((err as SectorStorageError).code, code);
      t.regex(err!.message, /declared 1500 bytes/);
      await t.throwsAsync(push.done);
    }
  } finally {
    api.close();
    await server.close();
  }
});

test('a call whose signal is already aborted stops waiting for its upload stream at once', async (t) => {
  const streams = new StreamRegistry(60_000);
  const controller = new AbortController();
  controller.abort();
  const err = await t.throwsAsync(streams.take(crypto.randomUUID(), controller.signal));
  t.is((err as SectorStorageError).code, 'ABORTED');
  streams.close();
});
