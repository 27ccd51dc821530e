/**
 * Registered seal proofs (rust-filecoin-proofs-api registry.rs): on-chain numbers, sector sizes,
 * graph and tree parameters. See rust-fil-proofs `filecoin-proofs/src/constants.rs`.
 */
import { SealProofUnknownError } from '../errors.js';

/** On-chain seal proof numbers for the proofs this implementation seals (V1_1). */
export type RegisteredSealProof = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** Parameters of one registered seal proof. */
export interface SealProofInfo {
  readonly id: RegisteredSealProof;
  readonly name: string;
  /** Sector size in bytes (padded). */
  readonly sectorSize: number;
  /** `sectorSize / 32`. */
  readonly nodes: number;
  readonly layers: number;
  /** tree_c / tree_r_last shape: base arity, sub-tree arity (0 = none), top arity (0 = none). */
  readonly shape: readonly [base: number, sub: number, top: number];
  readonly partitions: number;
  readonly challengesPerPartition: number;
  /** API version: the V1_0 legacy graph or V1_1. */
  readonly api: 'V1_0' | 'V1_1';
  /** Window PoSt sectors per partition. */
  readonly windowPoStSectorsPerPartition: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const sizes = [
  { label: '2KiB', sectorSize: 2 * KiB, layers: 2, shape: [8, 0, 0], partitions: 1, challenges: 2, wpost: 2 },
  { label: '8MiB', sectorSize: 8 * MiB, layers: 2, shape: [8, 0, 0], partitions: 1, challenges: 2, wpost: 2 },
  { label: '512MiB', sectorSize: 512 * MiB, layers: 2, shape: [8, 0, 0], partitions: 1, challenges: 2, wpost: 2 },
  { label: '32GiB', sectorSize: 32 * GiB, layers: 11, shape: [8, 8, 0], partitions: 10, challenges: 18, wpost: 2349 },
  { label: '64GiB', sectorSize: 64 * GiB, layers: 11, shape: [8, 8, 2], partitions: 10, challenges: 18, wpost: 2300 },
] as const;

const table: SealProofInfo[] = [];
for (const api of ['V1_0', 'V1_1'] as const) {
  sizes.forEach((s, i) => {
    const id = ((api === 'V1_0' ? 0 : 5) + i) as RegisteredSealProof;
    table.push({
      id,
      name: `StackedDrg${s.label}${api === 'V1_0' ? 'V1' : 'V1_1'}`,
      sectorSize: s.sectorSize,
      nodes: s.sectorSize / 32,
      layers: s.layers,
      shape: s.shape,
      partitions: s.partitions,
      challengesPerPartition: s.challenges,
      api,
      windowPoStSectorsPerPartition: s.wpost,
    });
  });
}

/** Information about a registered seal proof; throws SealProofUnknownError for others. */
export function sealProofInfo(proof: number): SealProofInfo {
  const info = table[proof];
  if (!Number.isInteger(proof) || info === undefined) {
    throw new SealProofUnknownError(`seal proof ${proof} is not a registered seal proof (0..9)`);
  }
  return info;
}

/** The V1_1 seal proof for a sector size in bytes. */
export function sealProofForSectorSize(sectorSize: number): SealProofInfo {
  const info = table.find((p) => p.api === 'V1_1' && p.sectorSize === sectorSize);
  if (!info) {
    throw new SealProofUnknownError(
      `no registered seal proof for sector size ${sectorSize} (expected one of ${sizes.map((s) => s.label).join(', ')})`,
    );
  }
  return info;
}

/** All registered seal proofs, V1_0 then V1_1, smallest first. */
export function allSealProofs(): readonly SealProofInfo[] {
  return table;
}

/** porep_id: u64 LE(proof id) || u64 LE(nonce 0) || 16 zero bytes. */
export function porepId(proof: number): Uint8Array {
  const info = sealProofInfo(proof);
  const out = new Uint8Array(32);
  new DataView(out.buffer).setBigUint64(0, BigInt(info.id), true);
  return out;
}
