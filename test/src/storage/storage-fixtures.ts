/**
 * Test fixtures for the storage layer: temp dirs, an index over a temp SQLite database, and
 * in-process "nodes" (a LocalStore + RemoteStore + `/remote` server on loopback).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_PERMISSIONS, TokenAuthority } from '../../../src/auth/tokens.js';
import { type FileTypeName, type SectorId, sectorName } from '../../../src/sector/sector-id.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { createRemoteHandler } from '../../../src/storage/http-handler.js';
import { StorageCatalog, directCatalog } from '../../../src/db/storage-catalog.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import { RemoteStore, type RemoteStoreOptions } from '../../../src/storage/remote-store.js';
import type { CatalogClient } from '../../../src/storage/catalog-client.js';
import { type InitStoragePathOptions, initStoragePath } from '../../../src/storage/storage-config.js';
import { messageLogger } from '../../helpers/log-recorder.js';

/** StackedDrg2KiBV1_1 and StackedDrg8MiBV1_1. */
export const PROOF_2K = 5;
export const PROOF_8M = 6;

export const authority = new TokenAuthority(Buffer.alloc(32, 7));
export const adminToken = authority.createToken(ALL_PERMISSIONS);
export const readToken = authority.createToken(['read', 'write']);

export function tempDir(prefix = 'ss-storage-', base = tmpdir()): string {
  return mkdtempSync(join(base, prefix));
}

export interface Manager {
  dir: string;
  db: Db;
  store: StorageCatalog;
  catalog: CatalogClient;
  clock: { t: number; now(): number };
  close(): void;
}

/** A storage catalog over a fresh database (the manager side). */
export function makeManager(): Manager {
  const dir = tempDir('ss-manager-');
  const db = openDatabase(join(dir, 'index.sqlite'));
  const clock = { t: Date.now(), now: () => clock.t };
  const store = new StorageCatalog(db, { clock });
  return {
    dir,
    db,
    store,
    catalog: directCatalog(store),
    clock,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Node {
  url: string;
  local: LocalStore;
  remote: RemoteStore;
  server: Server;
  logs: string[];
  close(): Promise<void>;
}

/** A node with its own `/remote` server on 127.0.0.1 and no paths yet. */
export async function makeNode(catalog: CatalogClient, options: Omit<RemoteStoreOptions, 'local' | 'catalog' | 'token' | 'log'> = {}): Promise<Node> {
  const logs: string[] = [];
  const log = messageLogger(logs);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote`;
  const local = new LocalStore({ catalog, urls: [url], log });
  const remote = new RemoteStore({ local, token: adminToken, log, ...options });
  const handler = createRemoteHandler({ local, verify: (t) => authority.verifyToken(t), log });
  server.on('request', (req, res) => {
    void handler(req, res);
  });
  return {
    url,
    local,
    remote,
    server,
    logs,
    async close() {
      local.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Initialises a storage path under `base`. */
export function makePath(base: string, name: string, options: InitStoragePathOptions): string {
  const p = join(base, name);
  initStoragePath(p, options);
  return p;
}

/** Writes a sector file (unsealed/sealed) or a cache dir with a few files; returns the bytes written. */
export function writeSectorEntry(root: string, type: FileTypeName, id: SectorId, size = 4096, seed = 1): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff;
  const p = join(root, type, sectorName(id));
  if (type === 'cache') {
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'p_aux'), data.subarray(0, 64));
    writeFileSync(join(p, 't_aux'), Buffer.from('{"x":1}'));
    writeFileSync(join(p, 'sc-02-data-tree-r-last.dat'), data);
  } else {
    writeFileSync(p, data);
  }
  return data;
}
