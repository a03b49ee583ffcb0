// Public surface of the model engine: config, weights, model, optimizer, generation, scoring, backends.
export type { LlamaConfig } from './config.ts';
export type { NamedTensor, NamedTensors } from './weights.ts';
export type { TokenBatch } from './model.ts';
export type { AdamWOptions, CompiledAdamW, OptimizerState, StepResult } from './optimizer.ts';
export type { GenerateOptions, GeneratedSequence, FinishReason } from './sampler.ts';
export type { ScoreItem, ScoreOptions, ScoredSequence } from './scoring.ts';
export type { SamplingParams } from './distribution.ts';
export type { BackendName, BackendInfo } from './backend.ts';
export { validateLlamaConfig, headDim } from './config.ts';
export { assertFinite } from './weights.ts';
export { LlamaModel, pickTokens } from './model.ts';
export { AdamW, compileAdamW } from './optimizer.ts';
export { KVCache } from './kv-cache.ts';
export { Prng } from './prng.ts';
export { generate } from './sampler.ts';
export { score } from './scoring.ts';
export { samplingLogprobs, logSoftmaxRow, entropyOf } from './distribution.ts';
export { initBackend, backendInfo, BACKENDS } from './backend.ts';
