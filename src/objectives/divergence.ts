// Per-token divergences between student and teacher distributions: [B, T, V] log-probs -> [B, T].
import * as tf from '@tensorflow/tfjs';
import { RlmeshError } from '../errors.ts';
import { batchDims, checkShape, need } from './tensor-ops.ts';
import type { ObjectiveBatch } from './types.ts';

/** Student and teacher log-probs over the same support: the full vocab, or the teacher's top-k renormalised. */
export interface DistributionPair {
  /** [B, T, V'] student log-probs (differentiable). */
  student: tf.Tensor3D;
  /** [B, T, V'] teacher log-probs (constant). */
  teacher: tf.Tensor3D;
}

export function distributionPair(batch: ObjectiveBatch, method: string): DistributionPair {
  const { B, T } = batchDims(batch);
  const student = need(batch, 'studentLogprobsFull', method);
  if (batch.teacherLogprobsFull) {
    checkShape(batch.teacherLogprobsFull, [B, T, student.shape[2]], 'teacherLogprobsFull');
    return { student, teacher: batch.teacherLogprobsFull };
  }
  if (batch.teacherTopK) {
    const { ids, logprobs } = batch.teacherTopK;
    checkShape(ids, [B, T, -1], 'teacherTopK.ids');
    checkShape(logprobs, ids.shape, 'teacherTopK.logprobs');
    const V = student.shape[2];
    const oneHot = tf.oneHot(tf.cast(ids, 'int32'), V); // [B, T, K, V]
    const gathered = tf.sum(tf.mul(oneHot, tf.expandDims(student, 2)), -1) as tf.Tensor3D; // [B, T, K]
    return { student: renormalise(gathered), teacher: renormalise(logprobs) };
  }
  throw new RlmeshError('data', `${method} needs batch.teacherLogprobsFull or batch.teacherTopK`, {
    field: 'teacherLogprobsFull',
    details: { method },
  });
}

/** Log-probs renormalised over the last axis (log-softmax of log-probs). */
function renormalise(lp: tf.Tensor3D): tf.Tensor3D {
  return tf.sub(lp, tf.logSumExp(lp, -1, true)) as tf.Tensor3D;
}

/** KL(p || q) per position from log-probs: sum_v p (log p - log q). [B, T, V] -> [B, T]. */
export function klDiv(logP: tf.Tensor3D, logQ: tf.Tensor3D): tf.Tensor2D {
  return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1) as tf.Tensor2D;
}

/** Forward KL(pT || pS) per position. */
export function forwardKl(pair: DistributionPair): tf.Tensor2D {
  return klDiv(pair.teacher, pair.student);
}

/** Reverse KL(pS || pT) per position. */
export function reverseKl(pair: DistributionPair): tf.Tensor2D {
  return klDiv(pair.student, pair.teacher);
}

/**
 * log M with M = (1 - beta) pS + beta pT, computed stably in log space as log(e^a + e^b) = a + softplus(b - a)
 * (elementwise; gradient sigmoid(b - a) to b and the rest to a, exact at ties). Stacking a and b and reducing
 * an axis of 2 with logSumExp is the same value, about 6x slower on the wasm backend.
 */
function logMixture(pair: DistributionPair, beta: number): tf.Tensor3D {
  const a = tf.add(pair.student, Math.log(1 - beta)); // [B, T, V]
  const b = tf.add(pair.teacher, Math.log(beta)); // [B, T, V]
  return tf.add(a, tf.softplus(tf.sub(b, a))) as tf.Tensor3D;
}

/**
 * Generalized JSD (TRL GKD, ALGORITHMS.md 1b): beta KL(pT||M) + (1 - beta) KL(pS||M); beta = 0 is forward
 * KL(pT||pS), beta = 1 is reverse KL(pS||pT). Gradient flows through pS everywhere, including M.
 */
export function generalizedJsd(pair: DistributionPair, beta: number): tf.Tensor2D {
  if (beta <= 0) return forwardKl(pair);
  if (beta >= 1) return reverseKl(pair);
  const logM = logMixture(pair, beta);
  return tf.add(tf.mul(klDiv(pair.teacher, logM), beta), tf.mul(klDiv(pair.student, logM), 1 - beta)) as tf.Tensor2D;
}

/** Forward-KL contributions pT (log pT - log pS), each clipped above at kappa before the vocab sum (PW-OPSD). */
export function clippedForwardKl(pair: DistributionPair, kappa: number): tf.Tensor2D {
  const c = tf.mul(tf.exp(pair.teacher), tf.sub(pair.teacher, pair.student)); // [B, T, V]
  return tf.sum(kappa > 0 ? tf.minimum(c, kappa) : c, -1) as tf.Tensor2D;
}

/** Per-token k3 estimator of KL to a reference: exp(lpRef - lp) - (lpRef - lp) - 1 (>= 0). */
export function k3(lp: tf.Tensor2D, lpRef: tf.Tensor2D): tf.Tensor2D {
  const d = tf.sub(lpRef, lp);
  return tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor2D;
}
