// Per-row math on one step's logits in plain JS: log-softmax, entropy, temperature/top-k/top-p sampling.
import type { Prng } from './prng.ts';

/** log-softmax of `logits` (length V) into a new array. */
export function logSoftmaxRow(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

/** Entropy (nats) of a distribution given as log-probs. */
export function entropyOf(logp: Float64Array): number {
  let h = 0;
  for (const l of logp) if (l > -Infinity) h -= Math.exp(l) * l;
  return h;
}

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK: number;
  /** Keep the smallest set with cumulative probability >= topP; 1 = off. */
  topP: number;
}

/**
 * The sampling distribution after temperature, top-k and top-p, as log-probs over all V tokens
 * (-Infinity outside the support). Greedy (temperature 0) puts all mass on the arg-max.
 */
export function samplingLogprobs(rawLogp: Float64Array, p: SamplingParams): Float64Array {
  const V = rawLogp.length;
  const out = new Float64Array(V).fill(-Infinity);
  if (p.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (rawLogp[i]! > rawLogp[best]!) best = i;
    out[best] = 0;
    return out;
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => rawLogp[b]! - rawLogp[a]! || a - b);
  let keep = p.topK > 0 ? Math.min(p.topK, V) : V;
  const scaled = order.slice(0, keep).map((i) => rawLogp[i]! / p.temperature);
  const max = scaled[0]!;
  let z = 0;
  for (const s of scaled) z += Math.exp(s - max);
  if (p.topP < 1) {
    let cum = 0;
    for (let j = 0; j < keep; j++) {
      cum += Math.exp(scaled[j]! - max) / z;
      if (cum >= p.topP) { keep = j + 1; break; }
    }
  }
  let z2 = 0;
  for (let j = 0; j < keep; j++) z2 += Math.exp(scaled[j]! - max);
  const lz = max + Math.log(z2);
  for (let j = 0; j < keep; j++) out[order[j]!] = scaled[j]! - lz;
  return out;
}

/** Draws one token from log-probs with the given generator (inverse CDF in token order). */
export function drawToken(logp: Float64Array, rng: Prng): number {
  const u = rng.uniform();
  let cum = 0, last = -1;
  for (let i = 0; i < logp.length; i++) {
    if (logp[i] === -Infinity) continue;
    cum += Math.exp(logp[i]!);
    last = i;
    if (u < cum) return i;
  }
  return last;
}
