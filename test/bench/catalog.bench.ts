/**
 * Storage catalog operations on a large catalog: declare and find with 1,000,000 sector-file rows
 * (BENCH_QUICK: 20,000), ops/s and p50/p99 latency of single synchronous StorageCatalog calls (what
 * the index actor runs per message). Baseline: the bare prepared-statement lookup / insert on the
 * same database, so the ratio shows what the catalog adds (validation, aggregation, URLs).
 * Goal: find p99 < 1 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileType } from '../../src/sector/sector-id.js';
import { StorageCatalog } from '../../src/db/storage-catalog.js';
import type { SectorDecl } from '../../src/storage/storage-types.js';
import { openDatabase } from '../../src/db/database.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const ROWS = quick ? 20_000 : 1_000_000;
const OPS = quick ? 5_000 : 50_000;
const STORAGES = 10;
const TYPES = [FileType.unsealed, FileType.sealed, FileType.cache];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Runs `fn(i)` `n` times; returns ops/s, p50 and p99 in µs. */
function measure(n: number, fn: (i: number) => void): { opsPerSec: number; p50: number; p99: number } {
  const lat = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    fn(i);
    lat[i] = Number(process.hrtime.bigint() - a) / 1000;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort();
  return { opsPerSec: n / total, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

const dir = mkdtempSync(join(tmpdir(), 'ss-catalog-bench-'));
try {
  const db = openDatabase(join(dir, 'index.sqlite'));
  const idx = new StorageCatalog(db);
  const stat = { Capacity: 2 ** 44, Available: 2 ** 43, FSAvailable: 2 ** 43, Reserved: 0, Max: 0, Used: 0 };
  for (let s = 0; s < STORAGES; s++) {
    idx.storageAttach(
      { ID: `store-${s}`, URLs: [`http://10.0.0.${s}:3456/remote`], Weight: 10 + s, MaxStorage: 0, CanSeal: s < 3, CanStore: s >= 3 },
      stat,
    );
  }
  // Fill: sectors spread over the storages, three file types each (one row per type).
  const sectors = Math.ceil(ROWS / 3);
  const fillStart = process.hrtime.bigint();
  const batch = 10_000;
  for (let s = 0; s < STORAGES; s++) {
    const decls: SectorDecl[] = [];
    for (let n = s; n < sectors; n += STORAGES) {
      decls.push({ sector: { miner: 1000, number: n }, types: FileType.unsealed | FileType.sealed | FileType.cache, primary: true });
      if (decls.length === batch) idx.storageDeclareSectors(`store-${s}`, decls.splice(0), false);
    }
    if (decls.length > 0) idx.storageDeclareSectors(`store-${s}`, decls, false);
  }
  const fillSec = Number(process.hrtime.bigint() - fillStart) / 1e9;
  const rows = (db.prepare('SELECT count(*) AS n FROM sector_files').get() as { n: number }).n;
  report({ name: 'catalog fill (batched declare)', value: rows / fillSec, unit: 'rows/s', note: `${rows} rows, ${STORAGES} storages` });

  // A deterministic pseudo-random order so the B-tree is not walked sequentially.
  let x = 12345;
  const rnd = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x;
  };
  const keys = Array.from({ length: OPS }, () => rnd() % sectors);

  const rawFind = db.prepare('SELECT storage_id, file_type, is_primary FROM sector_files WHERE miner = ? AND number = ?');
  measure(OPS, (i) => rawFind.all(1000, keys[i])); // warm the page cache for both measurements
  const base = measure(OPS, (i) => rawFind.all(1000, keys[i]));
  const find = measure(OPS, (i) => idx.storageFindSector({ miner: 1000, number: keys[i] as number }, TYPES[i % 3] as number, 0, false));
  const findAll = measure(OPS, (i) =>
    idx.storageFindSector({ miner: 1000, number: keys[i] as number }, FileType.sealed | FileType.cache, 32 * 2 ** 30, true),
  );
  const note = `${rows} rows`;
  report({ name: 'catalog find (one type)', value: find.opsPerSec, unit: 'ops/s', note: `${note}; ${(base.opsPerSec / find.opsPerSec).toFixed(2)}× the bare lookup's time` });
  report({ name: 'catalog find p50', value: find.p50, unit: 'µs', note });
  report({ name: 'catalog find p99', value: find.p99, unit: 'µs', note: `${note}; goal < 1000 µs` });
  report({ name: 'catalog find (sealed+cache, allowFetch)', value: findAll.opsPerSec, unit: 'ops/s', note: `p50 ${findAll.p50.toFixed(1)} µs, p99 ${findAll.p99.toFixed(1)} µs` });
  report({ name: 'baseline: bare PK lookup', value: base.opsPerSec, unit: 'ops/s', note: `p50 ${base.p50.toFixed(1)} µs, p99 ${base.p99.toFixed(1)} µs` });

  // Declares of new sectors (each call its own transaction) and of existing ones (redeclare).
  const rawInsert = db.prepare('INSERT INTO sector_files (miner, number, file_type, storage_id, is_primary) VALUES (?, ?, ?, ?, 1)');
  const rawTx = db.transaction((n: number) => rawInsert.run(2000, n, FileType.sealed, 'store-0'));
  const baseDecl = measure(OPS, (i) => rawTx(i));
  const decl = measure(OPS, (i) => idx.storageDeclareSector('store-1', { miner: 3000, number: i }, FileType.sealed | FileType.cache, true));
  const redecl = measure(OPS, (i) => idx.storageDeclareSector(`store-${(keys[i] as number) % STORAGES}`, { miner: 1000, number: keys[i] as number }, FileType.sealed, true));
  report({ name: 'catalog declare (new, 2 types)', value: decl.opsPerSec, unit: 'ops/s', note: `p50 ${decl.p50.toFixed(1)} µs, p99 ${decl.p99.toFixed(1)} µs; ${(baseDecl.opsPerSec / decl.opsPerSec).toFixed(2)}× a bare 1-row insert transaction` });
  report({ name: 'catalog declare p99', value: decl.p99, unit: 'µs', note });
  report({ name: 'catalog redeclare (existing)', value: redecl.opsPerSec, unit: 'ops/s', note: `p50 ${redecl.p50.toFixed(1)} µs, p99 ${redecl.p99.toFixed(1)} µs` });
  report({ name: 'baseline: bare insert transaction', value: baseDecl.opsPerSec, unit: 'ops/s', note: `p50 ${baseDecl.p50.toFixed(1)} µs, p99 ${baseDecl.p99.toFixed(1)} µs` });
  report({ name: 'catalog bench peak RSS', value: peakRssMiB(), unit: 'MiB', note });
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
