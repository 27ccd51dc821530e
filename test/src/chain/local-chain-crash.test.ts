import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { LocalChain } from '../../../src/chain/local-chain.js';
import { ChainStore, directChainStore } from '../../../src/db/chain-store.js';
import { openDatabase } from '../../../src/db/database.js';
import { preCommitParams } from './helpers/submit-params.js';

const CHILD = fileURLToPath(new URL('./helpers/submit-child.js', import.meta.url));
const SECTORS = 400;
const EPOCH_MS = 3_600_000;

/** Runs the child; kills it with SIGKILL once `killAfter` submits were confirmed; returns the confirmed ones. */
function runAndKill(dbPath: string, killAfter: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dbPath, String(SECTORS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const confirmed = new Map<number, string>();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [number, message] = line.split(' ');
      confirmed.set(Number(number), message!);
      if (confirmed.size === killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended with ${code}/${signal} before the kill: ${stderr}`));
      else resolve(confirmed);
    });
  });
}

/** A seeded xorshift32 in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

for (const killAt of ['after the first submit', 'at a random submit']) {
  test(`a submit confirmed before a kill -9 (${killAt}) is durable, and sending it again after the restart is the same message`, async (t) => {
    const seed = Number(process.env.CHAIN_CRASH_SEED ?? Date.now() % 1_000_000);
    const killAfter = killAt === 'after the first submit' ? 1 : 1 + Math.floor(random(seed)() * (SECTORS - 1));
    t.log(`kill after ${killAfter} confirmed submits (CHAIN_CRASH_SEED=${seed})`);
    const dir = mkdtempSync(join(tmpdir(), 'chain-crash-'));
    try {
      const dbPath = join(dir, 'db.sqlite');
      const confirmed = await runAndKill(dbPath, killAfter);
      t.true(confirmed.size >= killAfter);

      const db = openDatabase(dbPath);
      try {
        const store = new ChainStore(db);
        const clock = new SimulatedClock();
        clock.set(store.genesis()!.genesisTime + EPOCH_MS);
        const chain = new LocalChain({ store: directChainStore(store), clock, epochMs: EPOCH_MS });
        for (const [number, message] of confirmed) {
          t.is(store.message(message)?.number, number, `sector ${number}'s message is in the database`);
          t.deepEqual(await chain.submitPreCommit({ miner: 1000, number }, preCommitParams(number)), { message });
        }
        // every sector, sent or not before the kill, now has exactly one pre-commit, which lands
        for (let number = 1; number <= SECTORS; number++) await chain.submitPreCommit({ miner: 1000, number }, preCommitParams(number));
        clock.increment(EPOCH_MS);
        const never = new AbortController().signal;
        for (let number = 1; number <= SECTORS; number++) {
          const messages = store.messagesOf(1000, number);
          t.is(messages.length, 1, `sector ${number}`);
          t.true((await chain.waitPreCommit({ miner: 1000, number }, messages[0]!.id, never)).ok, `sector ${number}`);
        }
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
