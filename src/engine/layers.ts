// Transformer building blocks on tfjs ops, with hand-written gradients where tfjs' own are slow.
import * as tf from '@tensorflow/tfjs';

/**
 * x·W for x [N, in], W [in, out]. The gradient's products take transposed operands: read in place where the backend
 * can (OpenBLAS, tfjs-node, webgpu); the wasm XNNPACK kernel copies such an operand first (wasm-kernels.ts).
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return linearGrad(x, w) as tf.Tensor2D;
}
const linearGrad = tf.customGrad((x, w, save) => {
  const xs = x as tf.Tensor2D, ws = w as tf.Tensor2D;
  (save as tf.GradSaveFunc)([xs, ws]);
  return {
    value: tf.matMul(xs, ws),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, sw, false, true), tf.matMul(sx, dy as tf.Tensor2D, true, false)];
    },
  };
});

/**
 * Batched a·b for rank-4 a [B, G, M, K], b [B, G, K, N], or a·bᵀ with `tb` for b [B, G, N, K] (attention scores
 * against the keys as cached, with no transposed copy where the products read operands in place); gradient as in
 * `linear`.
 */
export function bmm(a: tf.Tensor4D, b: tf.Tensor4D, tb = false): tf.Tensor4D {
  return (tb ? bmmTGrad : bmmGrad)(a, b) as tf.Tensor4D;
}
/** C = A·op(B), op = transpose when `tb`: dA = dC·op(B)ᵀ, dB = Aᵀ·dC (or dCᵀ·A when `tb`). */
const bmmGradFor = (tb: boolean) => tf.customGrad((a, b, save) => {
  const as = a as tf.Tensor4D, bs = b as tf.Tensor4D;
  (save as tf.GradSaveFunc)([as, bs]);
  return {
    value: tf.matMul(as, bs, false, tb),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      return [tf.matMul(d, sb, false, !tb), tb ? tf.matMul(d, sa, true, false) : tf.matMul(sa, d, true, false)];
    },
  };
});
const bmmGrad = bmmGradFor(false);
const bmmTGrad = bmmGradFor(true);

/**
 * Embedding lookup table[ids] -> [N, H]. Forward is a gather; the gradient is a one-hot product
 * (the wasm backend has no gather gradient).
 */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  const V = table.shape[0];
  const f = tf.customGrad((t, save) => {
    (save as tf.GradSaveFunc)([ids]); // keeps ids alive until the backward pass
    return {
      value: tf.gather(t as tf.Tensor2D, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.matMul(tf.oneHot(saved[0] as tf.Tensor1D, V).toFloat() as tf.Tensor2D, dy as tf.Tensor2D, true, false),
    };
  });
  return f(table) as tf.Tensor2D;
}

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * w. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** SiLU (swish). */
export function silu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x));
}

/** Signed permutation R with x·R = rotate_half(x) = concat(-x[D/2:], x[:D/2]) (HF convention). */
export function rotateHalfMatrix(D: number): tf.Tensor2D {
  const r = new Float32Array(D * D);
  const h = D / 2;
  for (let j = 0; j < h; j++) {
    r[(j + h) * D + j] = -1; // out[j] = -x[j + h]
    r[j * D + (j + h)] = 1; // out[j + h] = x[j]
  }
  return tf.tensor2d(r, [D, D]);
}

/** Applies a constant matrix on the right, x [N, D]·R [D, D], with a single-product gradient. */
export function constRight(x: tf.Tensor2D, r: tf.Tensor2D, rT: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((xi) => ({
    value: tf.matMul(xi as tf.Tensor2D, r),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, rT),
  }));
  return f(x) as tf.Tensor2D;
}

/**
 * Rotary tables for positions [B, T]: cos and a signed sin, each [B, T, 1, D], such that
 * rope(x) = x * cos + rotate_half(x) * sin (HF `rotate_half`, inv_freq = theta^(-2i/D)).
 */
export function ropeTables(positions: tf.Tensor2D, D: number, theta: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  return tf.tidy(() => {
    const inv = new Float32Array(D / 2);
    for (let i = 0; i < D / 2; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / D);
    const [B, T] = positions.shape;
    const ang = tf.mul(tf.expandDims(tf.cast(positions, 'float32'), 2), tf.tensor1d(inv)); // [B, T, D/2]
    const emb = tf.concat([ang, ang], 2); // [B, T, D]
    return {
      cos: tf.reshape(tf.cos(emb), [B, T, 1, D]) as tf.Tensor4D,
      sin: tf.reshape(tf.sin(emb), [B, T, 1, D]) as tf.Tensor4D,
    };
  });
}

/** Additive attention bias [B, 1, T, S] (0 = attend, -1e9 = masked) for T queries after S - T cached keys. */
export function attentionBias(keyMask: tf.Tensor2D, T: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, S] = keyMask.shape;
    const past = S - T;
    const causal = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) causal[i * S + j] = -1e9;
    const keyBias = tf.reshape(tf.mul(tf.sub(tf.cast(keyMask, 'float32'), 1), 1e9), [B, 1, 1, S]);
    return tf.add(tf.tensor4d(causal, [1, 1, T, S]), keyBias) as tf.Tensor4D;
  });
}
