// Per-layer key/value cache for incremental decoding: tensors [B, kvHeads, S, D] grown along S.
import * as tf from '@tensorflow/tfjs';

export class KVCache {
  private keys: Array<tf.Tensor4D | null>;
  private values: Array<tf.Tensor4D | null>;

  constructor(numLayers: number) {
    this.keys = new Array<tf.Tensor4D | null>(numLayers).fill(null);
    this.values = new Array<tf.Tensor4D | null>(numLayers).fill(null);
  }

  /** Number of cached positions (S). */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /**
   * Appends this step's k, v [B, kvH, T, D] for `layer` and returns the full k, v [B, kvH, S + T, D].
   * The stored tensors survive the caller's tf.tidy.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const pk = this.keys[layer], pv = this.values[layer];
    const nk = pk ? tf.concat([pk, k], 2) : k; // [B, kvH, S + T, D]
    const nv = pv ? tf.concat([pv, v], 2) : v;
    this.keys[layer] = tf.keep(nk);
    this.values[layer] = tf.keep(nv);
    pk?.dispose();
    pv?.dispose();
    return { k: nk, v: nv };
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
  }
}
