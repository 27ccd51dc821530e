/**
 * PC1's output as it travels ({@link Pc1Result}: replica id, ticket, CommD, layer digests) and
 * back: the full PreCommit1Output PC2 runs on is rebuilt from the result, the task's sector and
 * proof, and the cache directory this node holds. Only what describes the data travels; paths
 * belong to whichever node runs PC2 (sealing-daemon.md §3).
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { CacheFile } from '../sector/layout.js';
import { porepId as porepIdOf, sealProofInfo } from '../sector/proofs.js';
import { sectorName } from '../sector/sector-id.js';
import { sdrGraph } from '../seal/graph.js';
import { parentCacheBaseName, parentCacheDir as defaultParentCacheDir } from '../seal/parent-cache.js';
import type { PreCommit1Output } from '../seal/pc1.js';
import { replicaId as computeReplicaId } from '../seal/replica-id.js';
import type { Pc1Result, TaskBase } from '../tasks/task-types.js';
import { bytesOfHex32, hexOf } from './sector-files.js';

/** The travelling part of a PC1 output. */
export function pc1ResultOf(out: PreCommit1Output): Pc1Result {
  return { replicaId: out.replicaId, ticket: out.ticket, commDHex: out.commD, layerDigests: [...out.layerDigests] };
}

/**
 * Rebuilds the PreCommit1Output of `result` for the task's sector with its layers in `cacheDir`.
 * The replica id is recomputed from the sector, ticket and CommD, so a result of another sector
 * (or a damaged record) is refused here rather than sealed. `resumedLayers` and `stats` describe
 * no run (zeros): they are timings of the PC1 call, which stay with it.
 * @throws InvalidArgumentError
 */
export function pc1OutputFromResult(task: TaskBase, result: Pc1Result, cacheDir: string, parentCacheDir?: string): PreCommit1Output {
  const info = sealProofInfo(task.proofType);
  const name = sectorName(task.sector);
  if (!Array.isArray(result.layerDigests) || result.layerDigests.length !== info.layers) {
    throw new InvalidArgumentError(`PC1 result of ${name} lists ${result.layerDigests?.length} layer digests, ${info.name} has ${info.layers} layers`);
  }
  for (const [i, d] of result.layerDigests.entries()) bytesOfHex32(d, `PC1 result layer digest ${i + 1}`);
  const ticket = bytesOfHex32(result.ticket, 'PC1 result ticket');
  const commD = bytesOfHex32(result.commDHex, 'PC1 result CommD');
  const porepId = porepIdOf(info.id);
  const replicaId = hexOf(computeReplicaId({ minerId: task.sector.miner, sectorNumber: task.sector.number, ticket, commD, porepId }));
  if (replicaId !== result.replicaId.toLowerCase()) {
    throw new InvalidArgumentError(
      `PC1 result does not belong to ${name} with its ticket and CommD: replica id ${result.replicaId}, recomputed ${replicaId}`,
    );
  }
  const graph = sdrGraph({ nodes: info.nodes, porepId, apiVersion: info.api });
  return {
    v: 1,
    proof: info.id,
    apiVersion: info.api,
    sectorSize: info.sectorSize,
    nodes: info.nodes,
    layers: info.layers,
    minerId: task.sector.miner,
    sectorNumber: task.sector.number,
    porepId: hexOf(porepId),
    replicaId,
    ticket: hexOf(ticket),
    commD: hexOf(commD),
    cacheDir,
    layerFiles: Array.from({ length: info.layers }, (_, i) => CacheFile.layer(i + 1)),
    layerDigests: result.layerDigests.map((d) => d.toLowerCase()),
    parentCachePath: join(parentCacheDir ?? defaultParentCacheDir(), `${parentCacheBaseName(graph)}.cache`),
    resumedLayers: 0,
    stats: { parentCacheSeconds: 0, parentCache: 'unused', allocSeconds: 0, labelSeconds: [], labelCpuSeconds: [], writeSeconds: [], batchSize: 1 },
  };
}
