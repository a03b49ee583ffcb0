// Loads and compiles the run config an actor serves (file from --config or RLMESH_CONFIG; defaults otherwise).
import { compileRunConfig, runConfigSchema, type CompiledRunConfig } from '../../src/config/index.ts';
import { loadConfigFile } from '../../src/platform/config/index.ts';

export async function loadRunConfig(configPath: string | undefined, runId?: string): Promise<CompiledRunConfig> {
  const raw = configPath ? await loadConfigFile(configPath, runConfigSchema) : {};
  return compileRunConfig(runId ? { ...(raw as object), run_id: runId } : raw);
}
