/**
 * A local chain over a fresh database on a simulated clock, and the helpers its tests share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2b';
import { SimulatedClock } from 'xstate';
import { LocalChain, type LocalChainOptions } from '../../../src/chain/local-chain.js';
import { ChainStore, directChainStore } from '../../../src/db/chain-store.js';
import { type Db, openDatabase } from '../../../src/db/database.js';

export interface ChainFixture {
  dir: string;
  db: Db;
  store: ChainStore;
  clock: SimulatedClock;
  chain: LocalChain;
  /** Another LocalChain over the same database, as after a restart. */
  restart(options?: Partial<LocalChainOptions> & { clock?: SimulatedClock }): LocalChain;
  close(): void;
}

/** A fixture whose chain has its genesis at time 0 of the simulated clock. */
export async function chainFixture(options: Partial<LocalChainOptions> = {}): Promise<ChainFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'local-chain-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const store = new ChainStore(db);
  const clock = new SimulatedClock();
  const make = (o: Partial<LocalChainOptions>) => new LocalChain({ store: directChainStore(new ChainStore(db)), clock, ...options, ...o });
  const chain = make({});
  await chain.head();
  return {
    dir,
    db,
    store,
    clock,
    chain,
    restart: (o = {}) => make(o),
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lets every pending promise callback run (the direct store answers in microtasks). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Moves the clock `n` epochs of `epochMs`, letting waiters arm their timers in between. */
export async function passEpochs(clock: SimulatedClock, n: number, epochMs = 2000): Promise<void> {
  for (let i = 0; i < n; i++) {
    await settle();
    clock.increment(epochMs);
  }
  await settle();
}

/** True once `promise` has settled (checked after pending callbacks ran). */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await settle();
  return done;
}

const b256 = (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 });
const i64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

/**
 * Lotus's DrawRandomness for the local chain, written independently of src/chain/randomness.ts:
 * BLAKE2b-256(tag ‖ BLAKE2b-256(nonce ‖ epoch) ‖ epoch ‖ CBOR(address)), with the CBOR of an ID
 * address built by hand for ids below 2^14 (0x43 0x00 + two-byte varint, or 0x42 0x00 + one byte).
 */
export function referenceRandomness(nonceHex: string, tag: 5 | 6, miner: number, epoch: number): string {
  if (miner >= 2 ** 14) throw new Error('referenceRandomness handles ids below 2^14');
  const address = miner < 0x80 ? [0x42, 0x00, miner] : [0x43, 0x00, (miner & 0x7f) | 0x80, miner >> 7];
  const rbase = Buffer.concat([Buffer.from(nonceHex, 'hex'), i64(epoch)]);
  const data = Buffer.concat([i64(tag), b256(rbase), i64(epoch), Uint8Array.from(address)]);
  return Buffer.from(b256(data)).toString('hex');
}
