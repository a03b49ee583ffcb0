// Public surface of the model engine: config, weights, model, optimizer, generation, scoring, backends.
export type { LlamaConfig } from './config.ts';
export type { NamedTensor, NamedTensors } from './weights.ts';
export type { TokenBatch } from './model.ts';
export type { AdamWOptions, CompiledAdamW, OptimizerState, StepResult } from './optimizer.ts';
export { validateLlamaConfig, headDim } from './config.ts';
export { assertFinite } from './weights.ts';
export { LlamaModel, pickTokens } from './model.ts';
export { AdamW, compileAdamW } from './optimizer.ts';
export { KVCache } from './kv-cache.ts';
export { Prng } from './prng.ts';
