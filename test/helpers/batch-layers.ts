/**
 * The interleaved layer layout of a PC1 batch (native/sdr.ts `sdrLabelRangeBatch`: node v of
 * sector s at 32 · (v · k + s)), taken apart in plain JavaScript, independently of the native
 * split and merge it checks them against.
 */

/** Each of the k sectors' layers of an interleaved batch layer, in the plain layout. */
export function deinterleave(batch: Uint8Array, k: number): Uint8Array[] {
  const nodes = batch.length / (32 * k);
  return Array.from({ length: k }, (_, s) => {
    const out = new Uint8Array(nodes * 32);
    for (let v = 0; v < nodes; v++) out.set(batch.subarray(32 * (v * k + s), 32 * (v * k + s) + 32), 32 * v);
    return out;
  });
}

/** The interleaved batch layer of k plain layers of the same length. */
export function interleave(layers: readonly Uint8Array[]): Uint8Array {
  const k = layers.length;
  const nodes = layers[0]!.length / 32;
  const batch = new Uint8Array(nodes * 32 * k);
  layers.forEach((l, s) => {
    for (let v = 0; v < nodes; v++) batch.set(l.subarray(32 * v, 32 * v + 32), 32 * (v * k + s));
  });
  return batch;
}
