/**
 * Sector locks a worker takes on the manager's lock table, in its own name.
 *
 * Every request names the worker's id as `owner`, so the manager can release them if the worker
 * dies: the worker heartbeats (`StorageOwnerHeartbeat`) on its watch interval, and the manager
 * declares an owner dead after 50 s of silence (see owner-leases.ts). A graceful stop releases
 * everything at once with `StorageReleaseOwner`.
 */
import type { SectorId } from '../sector/sector-id.js';
import type { OwnerHeartbeat } from './sector-locks.js';
import { type Logger, silentLogger } from '../log/logger.js';

/** A JSON-RPC call to the manager (method without `Filecoin.`), optionally cancellable. */
export type ManagerCall = (method: string, params: unknown[], options?: { signal?: AbortSignal }) => Promise<unknown>;

/** A lock held on the manager. */
export interface ManagerLock {
  /** The manager's lock id. */
  readonly id: string;
  readonly sector: SectorId;
  readonly read: number;
  readonly write: number;
  /**
   * Releases it (`StorageUnlock`); false when the manager no longer had it (released as dead, or
   * a manager restart forgot it) or could not be told (then its lease ends it). Never rejects: a
   * task lets go of its lock in a `finally` without waiting.
   */
  release(): Promise<boolean>;
}

/** The manager's lock table, seen from one owner. */
export class ManagerLocks {
  readonly #call: ManagerCall;
  /** The owner name every request carries (the worker's id). */
  readonly owner: string;

  readonly #log: Logger;

  constructor(call: ManagerCall, owner: string, log: Logger = silentLogger()) {
    this.#call = call;
    this.owner = owner;
    this.#log = log;
  }

  /** Waits for the lock (`StorageLock`); `signal` abandons the wait. */
  async acquire(sector: SectorId, read: number, write: number, options: { signal?: AbortSignal } = {}): Promise<ManagerLock> {
    const id = (await this.#call('StorageLock', [sector, read, write, this.owner], options)) as string;
    return this.#handle(id, sector, read, write);
  }

  /** One attempt (`StorageTryLock`): the lock, or null when it is not grantable now. */
  async tryAcquire(sector: SectorId, read: number, write: number): Promise<ManagerLock | null> {
    const id = (await this.#call('StorageTryLock', [sector, read, write, this.owner])) as string | null;
    return id === null ? null : this.#handle(id, sector, read, write);
  }

  /** Renews this owner's lease (`StorageOwnerHeartbeat`). */
  async heartbeat(): Promise<OwnerHeartbeat> {
    return (await this.#call('StorageOwnerHeartbeat', [this.owner])) as OwnerHeartbeat;
  }

  /** Releases every lock of this owner and ends its lease (`StorageReleaseOwner`); the count released. */
  async releaseAll(options: { signal?: AbortSignal } = {}): Promise<number> {
    return (await this.#call('StorageReleaseOwner', [this.owner], options)) as number;
  }

  #handle(id: string, sector: SectorId, read: number, write: number): ManagerLock {
    let released: Promise<boolean> | undefined;
    return {
      id,
      sector: { miner: sector.miner, number: sector.number },
      read,
      write,
      release: () => {
        released ??= (this.#call('StorageUnlock', [id]) as Promise<boolean>).catch((err: Error) => {
          this.#log.warn(`releasing sector lock ${id} on the manager failed (${err.message}); its lease ends it`);
          return false;
        });
        return released;
      },
    };
  }
}
