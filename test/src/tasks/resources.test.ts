/**
 * The resource table and the threads rule (src/tasks/resources.ts) against Lotus's
 * `extern/sector-storage/resources.go`, for every registered seal proof.
 */
import test from 'ava';
import { allSealProofs } from '../../../src/sector/proofs.js';
import { limitsFromEnv, maxConcurrentEnvName, shortSizeName, taskResources, threadsOf } from '../../../src/tasks/resources.js';
import type { TaskType } from '../../../src/tasks/task-types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Lotus's ResourceTable rows: [MinMemory, MaxMemory, MaxParallelism, GPU, BaseMinMemory], copied from resources.go. */
type Row = [number, number, number, boolean, number];
const LOTUS: Record<'AP' | 'PC1' | 'PC2' | 'C1' | 'C2', Record<number, Row>> = {
  AP: {
    [2 * KiB]: [2 << 10, 2 << 10, 1, false, 2 << 10],
    [8 * MiB]: [8 << 20, 8 << 20, 1, false, 8 << 20],
    [512 * MiB]: [1 * GiB, 1 * GiB, 1, false, 1 * GiB],
    [32 * GiB]: [4 * GiB, 4 * GiB, 1, false, 1 * GiB],
    [64 * GiB]: [8 * GiB, 8 * GiB, 1, false, 1 * GiB],
  },
  PC1: {
    [2 * KiB]: [2 << 10, 2 << 10, 1, false, 2 << 10],
    [8 * MiB]: [8 << 20, 8 << 20, 1, false, 8 << 20],
    [512 * MiB]: [768 << 20, 1 * GiB, 1, false, 1 << 20],
    [32 * GiB]: [56 * GiB, 64 * GiB, 1, false, 10 << 20],
    [64 * GiB]: [112 * GiB, 128 * GiB, 1, false, 10 << 20],
  },
  PC2: {
    [2 * KiB]: [2 << 10, 2 << 10, -1, false, 2 << 10],
    [8 * MiB]: [8 << 20, 8 << 20, -1, false, 8 << 20],
    [512 * MiB]: [1 * GiB, 3 * 2 ** 29, -1, false, 1 * GiB],
    [32 * GiB]: [15 * GiB, 15 * GiB, -1, true, 1 * GiB],
    [64 * GiB]: [30 * GiB, 30 * GiB, -1, true, 1 * GiB],
  },
  C1: {
    [2 * KiB]: [2 << 10, 2 << 10, 0, false, 2 << 10],
    [8 * MiB]: [8 << 20, 8 << 20, 0, false, 8 << 20],
    [512 * MiB]: [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
    [32 * GiB]: [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
    [64 * GiB]: [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
  },
  C2: {
    [2 * KiB]: [2 << 10, 2 << 10, 1, true, 2 << 10],
    [8 * MiB]: [8 << 20, 8 << 20, 1, true, 8 << 20],
    [512 * MiB]: [1 * GiB, 3 * 2 ** 29, 1, true, 10 * GiB],
    [32 * GiB]: [30 * GiB, 150 * GiB, -1, true, 32 * GiB],
    [64 * GiB]: [60 * GiB, 190 * GiB, -1, true, 64 * GiB],
  },
};

const asRow = (type: TaskType, size: number): Row => {
  const r = taskResources(type, size);
  return [r.minMemory, r.maxMemory, r.maxParallelism, r.canGpu, r.baseMinMemory];
};

test('every seal proof size, V1 and V1_1 alike, has Lotus\'s row for AP, PC1, PC2, C1 and C2', (t) => {
  const proofs = allSealProofs();
  t.is(proofs.length, 10);
  for (const p of proofs) {
    for (const type of ['AP', 'PC1', 'PC2', 'C1', 'C2'] as const) {
      t.deepEqual(asRow(type, p.sectorSize), LOTUS[type][p.sectorSize], `${type} for proof ${p.name} (${p.sectorSize} bytes)`);
    }
  }
});

test('UNS needs what PC1 needs, FIN nothing, GET one MiB and no thread slot (Lotus: Unseal = PC1, Fetch row)', (t) => {
  for (const p of allSealProofs()) {
    t.deepEqual(asRow('UNS', p.sectorSize), asRow('PC1', p.sectorSize));
    t.deepEqual(asRow('FIN', p.sectorSize), [0, 0, 0, false, 0]);
    t.deepEqual(asRow('GET', p.sectorSize), [MiB, MiB, 0, false, 0]);
  }
});

test('a size between rows uses the nearest smaller row', (t) => {
  t.deepEqual(asRow('PC1', 16 * MiB), LOTUS.PC1[8 * MiB]);
  t.deepEqual(asRow('PC1', 1 * GiB), LOTUS.PC1[512 * MiB]);
});

test('a multithreaded task takes the pool minus Lotus\'s 8 % reserve rounded down: the whole pool below 13 threads, Lotus\'s share or one more from 13 up', (t) => {
  for (let cpus = 1; cpus <= 128; cpus++) {
    const ours = threadsOf('PC2', 8 * MiB, cpus);
    const lotus = Math.floor((cpus * 92) / 100) || cpus;
    if (cpus < 13) t.is(ours, cpus, `${cpus} threads`);
    else t.true(ours === lotus || ours === lotus + 1, `${cpus} threads: ours ${ours}, Lotus ${lotus}`);
  }
  t.is(threadsOf('PC2', 8 * MiB, 2), 2, 'on the daemon\'s 2-thread pool PC2 takes both, so PC1 does not run beside it');
  t.is(threadsOf('C2', 32 * GiB, 64), 59);
});

test('single-threaded tasks take their MaxParallelism; C1 and FIN hold one pool thread, GET none', (t) => {
  t.is(threadsOf('PC1', 32 * GiB, 64), 1);
  t.is(threadsOf('AP', 2 * KiB, 2), 1);
  t.is(threadsOf('C2', 2 * KiB, 8), 1);
  t.is(threadsOf('C1', 32 * GiB, 64), 1);
  t.is(threadsOf('FIN', 32 * GiB, 64), 1);
  t.is(threadsOf('GET', 32 * GiB, 64), 0);
});

test('a PC1 whose worker gathers its parents takes two threads from the declared size up (one on a 1-thread worker); UNS and smaller PC1s one', (t) => {
  const from = 256 * MiB;
  t.is(threadsOf('PC1', 512 * MiB, 2, from), 2);
  t.is(threadsOf('PC1', 32 * GiB, 64, from), 2);
  t.is(threadsOf('PC1', 512 * MiB, 1, from), 1, 'a worker of one thread has no second to count');
  t.is(threadsOf('PC1', 8 * MiB, 2, from), 1, 'below the size the labeller works alone');
  t.is(threadsOf('PC1', 2 * KiB, 2, 0), 2, 'a worker that gathers for every size');
  t.is(threadsOf('PC1', 512 * MiB, 2), 1, 'a worker that declares nothing does not gather');
  t.is(threadsOf('UNS', 512 * MiB, 2, from), 1, 'unsealing labels nothing');
  t.is(threadsOf('PC2', 512 * MiB, 8, from), 8, 'other tasks are not affected');
});

test('per-type limits come from Lotus\'s <TASK>_<SIZE>_MAX_CONCURRENT names for the sector size; 0 or unset is no limit', (t) => {
  t.deepEqual(
    [2 * KiB, 8 * MiB, 512 * MiB, 32 * GiB, 64 * GiB].map(shortSizeName),
    ['2K', '8M', '512M', '32G', '64G'],
  );
  t.is(maxConcurrentEnvName('PC1', 32 * GiB), 'PC1_32G_MAX_CONCURRENT');
  const env = { PC1_32G_MAX_CONCURRENT: '4', AP_32G_MAX_CONCURRENT: '0', PC2_2K_MAX_CONCURRENT: '1', C2_32G_MAX_CONCURRENT: ' 2 ' };
  t.deepEqual(limitsFromEnv(env, 32 * GiB, ['AP', 'PC1', 'PC2', 'C2']), { PC1: 4, C2: 2 });
  t.deepEqual(limitsFromEnv(env, 2 * KiB, ['PC2', 'PC1']), { PC2: 1 });
  t.deepEqual(limitsFromEnv(env, 32 * GiB, ['AP']), {}, 'a type the worker does not run is not read');
});

test('a limit that is not a non-negative integer is refused naming the variable and its value', (t) => {
  for (const bad of ['-1', 'four', '1.5', '2x']) {
    t.throws(() => limitsFromEnv({ PC1_8M_MAX_CONCURRENT: bad }, 8 * MiB, ['PC1']), {
      code: 'INVALID_ARGUMENT',
      message: `PC1_8M_MAX_CONCURRENT=${JSON.stringify(bad)} must be a non-negative integer (0 = no limit)`,
    });
  }
});
