/**
 * The daemon's overhead on a whole seal: one 8 MiB committed-capacity sector pledged to a daemon
 * system and sealed to Proving (AddPiece, PC1, PC2, C1, C2, finalize, each a tracked call on the
 * pool; the local chain stand-in with fixed randomness and short epochs), beside the `seal`
 * command's library run (`sealSectors`) of the same sector in the same process. Both build on a
 * parent cache made before either is timed. BENCH_QUICK: 2 KiB.
 *
 * The daemon also finalizes and moves the sector to storage, which the seal command does not;
 * the chain's epochs (20 ms here) add a few of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonSystem } from '../../actors/system.js';
import { shaBackend } from '../../native/binding.js';
import { SealerPool } from '../../src/pool/pool.js';
import { sealSectors } from '../../src/seal/seal-sector.js';
import { sealProofForSectorSize } from '../../src/sector/proofs.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';

const SIZE = quick ? 2048 : 8 << 20;
const TICKET = '00'.repeat(32);
const SEED = Buffer.from([...Array.from({ length: 31 }, (_, i) => i + 1), 255]).toString('hex');
const THREADS = 2;

const dir = mkdtempSync(join(tmpdir(), 'ss-daemon-seal-bench-'));
const parents = join(dir, 'parents');
const pool = new SealerPool({ threads: THREADS });
try {
  // warm: the parent cache of this graph, and the pool's threads
  await sealSectors({ sectorSize: SIZE, dir: join(dir, 'warm'), parentCacheDir: parents, sectorNumber: 9 });
  let commR = '';
  const library = await seconds(async () => {
    const r = await sealSectors({
      sectorSize: SIZE,
      dir: join(dir, 'library'),
      parentCacheDir: parents,
      sectorNumber: 0,
      ticket: Buffer.from(TICKET, 'hex'),
      seed: Buffer.from(SEED, 'hex'),
    });
    commR = r.sectors[0]!.commR!;
  });

  const system = await startDaemonSystem({
    dbPath: join(dir, 'db.sqlite'),
    pool,
    minerId: 1000,
    sealProof: sealProofForSectorSize(SIZE).id,
    storageRoots: [join(dir, 'store')],
    parentCacheDir: parents,
    localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: { ticket: TICKET, seed: SEED } },
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  try {
    const daemon = await seconds(async () => {
      const n = await system.sectors.pledge();
      for (;;) {
        const r = await system.sectors.sectorStatus(n);
        if (r.state === 'Proving') {
          if (r.commR !== commR) throw new Error(`the daemon's CommR ${r.commR} differs from the seal command's ${commR}`);
          break;
        }
        if (r.state.endsWith('Failed')) throw new Error(`sector ${n} failed: ${r.error?.message}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    });
    report({
      name: `daemon seal to Proving, ${quick ? '2 KiB' : '8 MiB'} CC sector`,
      value: daemon,
      unit: 's',
      note: `the seal command's library run: ${library.toFixed(2)} s; daemon overhead ${(((daemon - library) / library) * 100).toFixed(1)} % (adds finalize, the move to storage and the chain's epochs); same CommR; SHA-256 ${shaBackend()}; peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    });
  } finally {
    await system.stop();
  }
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
