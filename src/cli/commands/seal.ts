/**
 * `sector-storage seal`: seals one sector end to end, offline (no daemon), in the spirit of
 * `lotus-bench simple` — AddPiece, PC1, PC2, C1, C2 and verification, each timed with a
 * progress bar. Same inputs as a lotus-bench run give the same CommD and CommR.
 *
 * C2 here produces a vanilla proof bundle: non-succinct and not accepted on chain (Filecoin's
 * Groth16 parameters are not available; see src/seal/c2.ts for where a Groth16 prover plugs in).
 *
 * The phases after AddPiece run on a sealer pool thread, so the main thread stays free to take
 * Ctrl-C: SIGINT sets the running task's cancel flag, which the native code polls, and the
 * command stops within a second with an ABORTED error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simdInfo } from '../../../native/binding.js';
import { AbortedError, InvalidArgumentError } from '../../errors.js';
import { SealerPool } from '../../pool/pool.js';
import { sealStepsOnPool } from '../../pool/seal-steps.js';
import { VANILLA_BUNDLE_NOTE } from '../../seal/c2.js';
import { pc1GatherFromEnv } from '../../seal/pc1-gather.js';
import { LOTUS_BENCH_SEED, parseSealPhases, SEAL_PHASE_NAMES, SEAL_PHASES, type SealPhase, sealSectors } from '../../seal/seal-sector.js';
import { formatSize, parseSize } from '../../sector/sizes.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { plural } from '../output.js';

/** Parses `t01000` / `f01000` / `1000` into the actor id. */
export function parseMinerAddr(text: string): number {
  const m = /^(?:[tf]0)?(\d+)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`miner address "${text}" is not an ID address like t01000 (--miner-addr)`);
  return parseIntArg(m[1], 'miner id (--miner-addr)');
}

/** Parses 32 bytes of hex (an optional 0x prefix). */
export function parseHex32(text: string, what: string): Uint8Array {
  const clean = text.startsWith('0x') ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{64}$/.test(clean)) throw new InvalidArgumentError(`${what} must be 64 hex digits (32 bytes), got "${text}"`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

const PHASE_LABEL: Record<SealPhase, string> = {
  addPiece: 'AddPiece',
  pc1: 'PreCommit1',
  pc2: 'PreCommit2',
  c1: 'Commit1',
  c2: 'Commit2',
  verify: 'Verify',
};

function ms(n: number): string {
  return n < 1000 ? `${n.toFixed(0)} ms` : `${(n / 1000).toFixed(2)} s (${formatDuration(n / 1000)})`;
}

const PHASE_NAMES = SEAL_PHASES.map((p) => SEAL_PHASE_NAMES[p]).join(',');

const seal = defineCommand({
  path: ['seal'],
  summary: 'seal sectors end to end (AddPiece, PC1, PC2, C1, C2, verify) and time each phase',
  description:
    'Offline benchmark and check, like lotus-bench simple: no daemon is needed. Without pieces a committed-capacity sector of zeros is sealed; pieces are added in order, each aligned, then filler pieces complete the sector. Defaults match lotus-bench (miner t01000, sector 1, ticket of 32 zero bytes, seed 0102…1fff), so the same inputs give the same CommD and CommR. With --num-sectors N, N sectors (consecutive numbers, the same pieces) have their PC1 batched: up to 8 sectors labelled together per thread, the batches spread over --threads. The proof is a vanilla proof bundle — non-succinct, not accepted on chain. Ctrl-C stops the running phase within a second.',
  flags: {
    'sector-size': { type: 'string', valueName: 'SIZE', required: true, description: 'sector size: 2KiB, 8MiB or 512MiB (32GiB/64GiB work but need hours and ~0.5 TiB)' },
    pieces: { type: 'string', repeated: true, valueName: 'FILE', description: 'a payload file to add as a piece (more files may follow as arguments)' },
    'miner-addr': { type: 'string', valueName: 'ADDR', description: 'miner ID address', defaultText: 't01000' },
    'sector-number': { type: 'string', valueName: 'N', description: 'sector number (of the first sector)', defaultText: '1' },
    'num-sectors': { type: 'string', valueName: 'N', description: 'sectors to seal, numbered from --sector-number, their PC1 batched', defaultText: '1' },
    phases: { type: 'string', valueName: 'LIST', description: `the phases to run, a prefix of ${PHASE_NAMES}`, defaultText: 'all' },
    threads: { type: 'string', valueName: 'N', description: 'threads for the whole run: PC1 batches side by side, PC2 native threads; where they leave a core to spare for every PC1 batch, a second thread gathers the parents of layers beyond the caches (SECTOR_STORAGE_PC1_GATHER=1 or 0 decides instead)', defaultText: 'every core' },
    ticket: { type: 'string', valueName: 'HEX', description: '32-byte sealing ticket in hex', defaultText: '32 zero bytes' },
    seed: { type: 'string', valueName: 'HEX', description: '32-byte interactive seed in hex', defaultText: 'lotus-bench seed 0102…1fff' },
    dir: { type: 'string', valueName: 'DIR', description: 'working directory, kept afterwards', defaultText: 'a temporary directory, removed afterwards' },
    'parent-cache': { type: 'string', valueName: 'DIR', description: 'SDR parent cache directory', defaultText: 'FIL_PROOFS_PARENT_CACHE or /var/tmp/filecoin-parents' },
  },
  positionals: [{ name: 'FILE', required: false, variadic: true, description: 'more piece files' }],
  async run({ flags, rest, out, signal }) {
    const sectorSize = parseSize(flags['sector-size']);
    const pieces = [...flags.pieces, ...rest].map((p) => resolve(p));
    const minerId = flags['miner-addr'] === undefined ? 1000 : parseMinerAddr(flags['miner-addr']);
    const sectorNumber = flags['sector-number'] === undefined ? 1 : parseIntArg(flags['sector-number'], 'sector number (--sector-number)');
    const count = flags['num-sectors'] === undefined ? 1 : parseIntArg(flags['num-sectors'], 'number of sectors (--num-sectors)');
    const threads = flags.threads === undefined ? availableParallelism() : parseIntArg(flags.threads, 'threads (--threads)');
    if (count < 1) throw new InvalidArgumentError('--num-sectors must be at least 1');
    if (threads < 1) throw new InvalidArgumentError('--threads must be at least 1');
    pc1GatherFromEnv(); // a bad SECTOR_STORAGE_PC1_GATHER fails here, before any work
    const phases = flags.phases === undefined ? [...SEAL_PHASES] : parseSealPhases(flags.phases);
    const ticket = flags.ticket === undefined ? new Uint8Array(32) : parseHex32(flags.ticket, 'ticket (--ticket)');
    const seed = flags.seed === undefined ? LOTUS_BENCH_SEED : parseHex32(flags.seed, 'seed (--seed)');
    const dir = flags.dir === undefined ? await mkdtemp(join(tmpdir(), 'sector-storage-seal-')) : resolve(flags.dir);
    let bar: ProgressBar | undefined;
    let running: SealPhase | undefined;
    const pool = new SealerPool({ threads });
    try {
      const result = await sealSectors({
        sectorSize,
        dir,
        pieces,
        minerId,
        sectorNumber,
        count,
        phases,
        threads,
        ticket,
        seed,
        parentCacheDir: flags['parent-cache'],
        signal,
        steps: sealStepsOnPool(pool),
        onPhase: (e) => {
          running = e.state === 'start' ? e.phase : undefined;
          if (e.state === 'start') {
            bar = new ProgressBar({ phase: PHASE_LABEL[e.phase], unit: e.phase === 'addPiece' ? 'bytes' : 'count' });
          } else {
            bar?.finish();
            bar = undefined;
            out.info(`done: ${PHASE_LABEL[e.phase]} in ${ms(e.ms ?? 0)}`);
          }
        },
        onProgress: (p) => bar?.report(p),
      });
      const ran = result.phases;
      const total = ran.reduce((s, p) => s + (result.times[p] ?? 0), 0);
      const firstSector = result.sectors[0]!;
      const verified = ran.includes('verify') ? result.sectors.every((x) => x.verified === true) : undefined;
      const simd = simdInfo();
      out.result(
        {
          sealProof: result.proofName,
          sectorSize,
          minerId: result.minerId,
          sectorNumber: firstSector.sectorNumber,
          commD: firstSector.commD,
          commR: firstSector.commR,
          sectors: result.sectors.map((x) => ({ sectorNumber: x.sectorNumber, commD: x.commD, commR: x.commR })),
          phases: ran.map((p) => SEAL_PHASE_NAMES[p]),
          times: Object.fromEntries(ran.map((p) => [p, Math.round(result.times[p] ?? 0)])),
          totalMs: Math.round(total),
          threads,
          pc1Batches: result.pc1Batches,
          pc1Gather: result.pc1Gather,
          parentCache: result.parentCache,
          simd,
          prover: result.prover,
          proofBytes: firstSector.proof?.length,
          verified,
          pieces: firstSector.pieces,
          peakRssMiB: Math.round(result.peakRssMiB),
          dir: flags.dir === undefined ? undefined : dir,
        },
        (r) => [
          count === 1
            ? `Sealed s-t0${r.minerId}-${r.sectorNumber} (${r.sealProof}, ${formatSize(sectorSize)}, ${plural(firstSector.pieces.length, 'piece')})`
            : `Sealed ${count} sectors s-t0${r.minerId}-${r.sectorNumber}..${r.sectorNumber + count - 1} (${r.sealProof}, ${formatSize(sectorSize)}, PC1 batches ${result.pc1Batches.join('+') || 'none'} on ${threads} thread(s))`,
          ...ran.map((p) => `  ${PHASE_LABEL[p].padEnd(11)} ${ms(result.times[p] ?? 0)}`),
          `  ${'Total'.padEnd(11)} ${ms(total)}`,
          ...result.sectors.flatMap((x) => [
            ...(count > 1 ? [`Sector ${x.sectorNumber}:`] : []),
            `CommD:    ${x.commD}`,
            ...(x.commR ? [`CommR:    ${x.commR}`] : []),
          ]),
          ...(firstSector.proof ? [`Proof:    ${firstSector.proof.length} bytes, ${r.prover.name}${r.prover.acceptedOnChain ? '' : ` (${VANILLA_BUNDLE_NOTE})`}`] : []),
          ...(verified === undefined ? [] : [`Verified: ${verified ? 'yes' : 'NO'}`]),
          `SIMD:     ${simd.path} (SHA-256 ${simd.sha256}, BLAKE2b ${simd.blake2b}, Poseidon ${simd.poseidon})`,
          `Peak RSS: ${r.peakRssMiB} MiB`,
          ...(r.dir ? [`Files in: ${r.dir}`] : []),
        ],
      );
      return verified === false ? 1 : 0;
    } catch (err) {
      if (signal.aborted) {
        const why = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
        const during = running ? ` during ${PHASE_LABEL[running]}` : '';
        throw new AbortedError(`seal stopped${during}: ${why}`, { cause: err });
      }
      throw err;
    } finally {
      bar?.abort();
      await pool.close();
      if (flags.dir === undefined) await rm(dir, { recursive: true, force: true });
    }
  },
});

export const sealCommands = [seal];
