// AdamW (decoupled weight decay, bias correction) with global-norm gradient clipping, and trainStep.
import * as tf from '@tensorflow/tfjs';
import { invalidField, RlmeshError, ErrorCategory } from '../errors.ts';
import type { NamedTensors } from './weights.ts';
import { assertFinite } from './weights.ts';

export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  /** Decoupled weight decay, applied to rank >= 2 parameters only (default 0.01). */
  weightDecay?: number;
  /** Clip the global gradient L2 norm to this value; 0 or absent disables clipping. */
  maxGradNorm?: number;
}

export interface CompiledAdamW { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number }

export function compileAdamW(o: AdamWOptions = {}): CompiledAdamW {
  const c = { lr: o.lr ?? 1e-3, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0.01, maxGradNorm: o.maxGradNorm ?? 0 };
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw invalidField('optimizer.lr', `must be > 0, got ${c.lr}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(c[k] >= 0 && c[k] < 1)) throw invalidField(`optimizer.${k}`, `must be in [0, 1), got ${c[k]}`);
  if (!(c.eps > 0)) throw invalidField('optimizer.eps', `must be > 0, got ${c.eps}`);
  if (!(c.weightDecay >= 0)) throw invalidField('optimizer.weight_decay', `must be >= 0, got ${c.weightDecay}`);
  if (!(c.maxGradNorm >= 0)) throw invalidField('optimizer.max_grad_norm', `must be >= 0, got ${c.maxGradNorm}`);
  return c;
}

/** Result of one optimisation step. */
export interface StepResult { loss: number; gradNorm: number }

/** Optimizer state for checkpoints: moments by parameter name (`<name>.exp_avg`, `<name>.exp_avg_sq`) and step. */
export interface OptimizerState { step: number; tensors: NamedTensors }

export class AdamW {
  readonly options: CompiledAdamW;
  private readonly vars: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  /** `params`: trainable variables by name (e.g. `LlamaModel.params`). */
  constructor(params: Map<string, tf.Variable>, options: AdamWOptions = {}) {
    this.options = compileAdamW(options);
    this.vars = params;
    for (const [k, p] of params) {
      // tidy frees the zeros tensors; the variables keep their own reference to the data
      this.m.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  get step(): number { return this.t; }

  /** Changes the learning rate (schedules). */
  setLearningRate(lr: number): void {
    if (!(lr > 0) || !Number.isFinite(lr)) throw invalidField('optimizer.lr', `must be > 0, got ${lr}`);
    this.options.lr = lr;
  }

  /**
   * Applies gradients by parameter name (missing ones count as zero). Returns the global gradient
   * norm before clipping.
   */
  apply(grads: Record<string, tf.Tensor>): number {
    const o = this.options;
    const names = [...this.vars.keys()].filter((k) => grads[k] !== undefined);
    const normT = tf.tidy(() => tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]!))))));
    const norm = (normT.dataSync() as Float32Array)[0]!;
    normT.dispose();
    // A skipped step leaves everything as it was, the step count (bias correction) included.
    if (!Number.isFinite(norm)) throw new RlmeshError(ErrorCategory.engine, `gradient norm is ${norm}; step skipped`, { details: { step: this.t + 1 } });
    this.t += 1;
    const scale = o.maxGradNorm > 0 && norm > o.maxGradNorm ? o.maxGradNorm / (norm + 1e-6) : 1;
    const bc1 = 1 - Math.pow(o.beta1, this.t), bc2 = 1 - Math.pow(o.beta2, this.t);
    const stepSize = o.lr / bc1;
    tf.tidy(() => {
      for (const k of names) {
        const p = this.vars.get(k)!, m = this.m.get(k)!, v = this.v.get(k)!;
        const g = scale === 1 ? grads[k]! : tf.mul(grads[k]!, scale);
        const mNew = tf.add(tf.mul(m, o.beta1), tf.mul(g, 1 - o.beta1));
        const vNew = tf.add(tf.mul(v, o.beta2), tf.mul(tf.square(g), 1 - o.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const denom = tf.add(tf.sqrt(tf.div(vNew, bc2)), o.eps);
        let upd = tf.mul(tf.div(mNew, denom), stepSize);
        if (o.weightDecay > 0 && p.rank >= 2) upd = tf.add(upd, tf.mul(p, o.lr * o.weightDecay));
        p.assign(tf.sub(p, upd));
      }
    });
    return norm;
  }

  /**
   * One step: computes d loss / d params with tf.variableGrads, clips, applies AdamW.
   * `lossFn` returns a scalar built from the model's variables. An array of loss functions is gradient
   * accumulation over micro-batches: the step minimises their sum (scale each part accordingly), and
   * only one micro-batch's activations are alive at a time.
   */
  trainStep(lossFn: (() => tf.Scalar) | Array<() => tf.Scalar>): StepResult {
    const parts = Array.isArray(lossFn) ? lossFn : [lossFn];
    if (parts.length === 0) throw invalidField('loss', 'at least one loss function is required');
    const vars = [...this.vars.values()];
    const byName: Record<string, tf.Tensor> = {};
    let loss = 0;
    try {
      for (const part of parts) {
        const { value, grads } = tf.variableGrads(part, vars);
        loss += (value.dataSync() as Float32Array)[0]!;
        value.dispose();
        for (const [k, p] of this.vars) {
          const g = grads[p.name];
          if (!g) continue;
          const prev = byName[k];
          if (prev) { byName[k] = tf.add(prev, g); prev.dispose(); g.dispose(); } else byName[k] = g;
        }
      }
      const gradNorm = this.apply(byName);
      return { loss, gradNorm };
    } finally {
      for (const g of Object.values(byName)) g.dispose();
    }
  }

  /** Moments (internal parameter layout) and step, for checkpoint resume. */
  exportState(): OptimizerState {
    const tensors: NamedTensors = new Map();
    for (const [k, m] of this.m) {
      tensors.set(`${k}.exp_avg`, { shape: [...m.shape], data: m.dataSync() as Float32Array });
      const v = this.v.get(k)!;
      tensors.set(`${k}.exp_avg_sq`, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    }
    return { step: this.t, tensors };
  }

  /** Restores `exportState()` output; checks names, shapes and finiteness (errors name the tensor). */
  importState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw invalidField('optimizer.step', `must be a non-negative integer, got ${state.step}`);
    const pending: Array<[tf.Variable, Float32Array]> = [];
    for (const [k, m] of this.m) {
      for (const [suffix, target] of [['exp_avg', m], ['exp_avg_sq', this.v.get(k)!]] as const) {
        const name = `${k}.${suffix}`;
        const t = state.tensors.get(name);
        if (!t) throw new RlmeshError(ErrorCategory.data, `${name}: missing optimizer tensor`, { field: name });
        if (t.shape.length !== target.shape.length || t.shape.some((d, i) => d !== target.shape[i]) || t.data.length !== target.size) {
          throw new RlmeshError(ErrorCategory.data, `${name}: shape [${t.shape.join(', ')}] does not match parameter [${target.shape.join(', ')}]`, { field: name });
        }
        assertFinite(name, t.data);
        pending.push([target, t.data]);
      }
    }
    for (const [target, data] of pending) target.assign(tf.tensor(data, target.shape, 'float32'));
    this.t = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
