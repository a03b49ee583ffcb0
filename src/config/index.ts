// Public surface of src/config: the run-config schema (for the file loader), modes and compileRunConfig.
export type { RunConfigOptions, ParsedRunConfig, MethodChoiceConfig } from './run-config-schema.ts';
export type { CompiledRunConfig, ResolvedMethod, ResolvedTeacher, RunConfig } from './compile-run-config.ts';
export type { ModeRule, RunMode } from './modes.ts';
export type { SecretFinding } from './secrets.ts';
export { runConfigObject, runConfigSchema, generateRunId } from './run-config-schema.ts';
export { compileRunConfig, NOT_IN_RUNS } from './compile-run-config.ts';
export { applyRewardShaping } from './reward-shaping.ts';
export { MODES, RUN_MODES } from './modes.ts';
export { findSecret, refuseSecrets } from './secrets.ts';
