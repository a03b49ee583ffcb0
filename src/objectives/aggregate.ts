// Loss aggregators (ALGORITHMS.md 0.2): masked per-token loss [B, T] -> scalar, honouring token selections.
import * as tf from '@tensorflow/tfjs';
import { RlmeshError } from '../errors.ts';
import type { Aggregation, Selection } from './types.ts';

export interface AggregateOptions {
  /** Token selection: numerator uses keep (x weights); denominators use the mask unless denominator = 'kept'. */
  selection?: Selection;
  /** T_max for seq-sum-norm; default the padded T. */
  maxLength?: number;
  /** Denominator override for token-mean (DAPO's whole accumulated batch). */
  tokenCount?: number;
}

/**
 * Aggregates a per-token loss `l` [B, T] under mask `m` [B, T]. Sequences with no valid tokens are skipped
 * by the sequence means (B' counts only L > 0).
 */
export function aggregate(l: tf.Tensor2D, m: tf.Tensor2D, kind: Aggregation, opts: AggregateOptions = {}): tf.Scalar {
  const [B, T] = m.shape;
  const sel = opts.selection;
  let num = tf.mul(l, m) as tf.Tensor2D;
  if (sel) num = tf.mul(num, sel.weights ? tf.mul(sel.keep, sel.weights) : sel.keep) as tf.Tensor2D;
  const den = sel && sel.denominator === 'kept' ? (tf.mul(m, sel.keep) as tf.Tensor2D) : m;
  switch (kind) {
    case 'sum':
      return tf.sum(num);
    case 'token-mean': {
      const n = opts.tokenCount ?? tf.sum(den).dataSync()[0]!;
      return n > 0 ? tf.div(tf.sum(num), n) : tf.mul(tf.sum(num), 0);
    }
    case 'seq-mean-token-mean':
    case 'seq-mean-token-sum': {
      const L = tf.sum(den, 1); // [B]
      const has = tf.cast(tf.greater(L, 0), 'float32'); // [B]
      const nSeq = tf.sum(has).dataSync()[0]!;
      const perSeq =
        kind === 'seq-mean-token-mean' ? tf.div(tf.sum(num, 1), tf.maximum(L, 1)) : tf.sum(num, 1); // [B]
      return nSeq > 0 ? tf.div(tf.sum(tf.mul(perSeq, has)), nSeq) : tf.mul(tf.sum(perSeq), 0);
    }
    case 'seq-sum-norm': {
      const tMax = opts.maxLength ?? T;
      if (!(tMax > 0)) throw new RlmeshError('config', `seq-sum-norm needs T_max > 0, got ${tMax}`, { field: 'max_completion_length' });
      return tf.div(tf.sum(num), B * tMax);
    }
  }
}

/** Fraction of valid tokens a selection keeps. */
export function keptFraction(keep: tf.Tensor2D, m: tf.Tensor2D): number {
  return tf.tidy(() => {
    const n = tf.sum(m).dataSync()[0]!;
    return n > 0 ? tf.sum(tf.mul(keep, m)).dataSync()[0]! / n : 0;
  });
}
