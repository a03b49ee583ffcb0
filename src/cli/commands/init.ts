// `rlmesh init`: writes a randomly initialised checkpoint folder from a LlamaConfig file (JSON or YAML).
// Usage: npx rlmesh init --config model.yaml --out ckpt/tiny [--seed 0] [--force]
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ErrorCategory, RlmeshError, invalidField } from '../../errors.ts';
import { saveCheckpoint } from '../../engine/checkpoint.ts';
import { LLAMA_CONFIG_KEYS, validateLlamaConfig } from '../../engine/config.ts';
import { LlamaModel } from '../../engine/model.ts';
import { CharTokenizer } from '../../engine/tokenizer.ts';
import { parseFlags, type Command } from './command.ts';
import { numberFlag, stringFlag } from './model-flags.ts';

async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new RlmeshError(ErrorCategory.notFound, `--config: cannot read ${file}: ${(e as Error).message}`, { field: '--config', cause: e });
  }
  try {
    return parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw invalidField('--config', `${file} is neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

export const init: Command = {
  name: 'init',
  summary: 'write a randomly initialised checkpoint: --config FILE --out DIR [--seed N] [--force]',
  async run(args) {
    const { flags } = parseFlags(args, ['config', 'out', 'seed'], ['force']);
    const file = stringFlag(flags, 'config', true);
    const out = stringFlag(flags, 'out', true);
    const seed = numberFlag(flags, 'seed', { integer: true, min: 0, max: 0xffffffff }) ?? 0;
    if (existsSync(out) && readdirSync(out).length > 0 && flags.force !== true) {
      throw invalidField('--out', `${out} exists and is not empty (pass --force to replace it)`);
    }
    const raw = await readConfigFile(file);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidField('--config', `${file} must hold a mapping of LlamaConfig fields`);
    const unknown = Object.keys(raw).filter((k) => !LLAMA_CONFIG_KEYS.includes(k));
    if (unknown.length > 0) throw invalidField('--config', `${file}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${LLAMA_CONFIG_KEYS.join(', ')}`);
    const tokenizer = CharTokenizer.builtin();
    const config = validateLlamaConfig({
      vocab_size: tokenizer.vocabSize, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId,
      ...raw,
    });
    const model = LlamaModel.init(config, seed);
    try {
      await saveCheckpoint(out, { config, weights: model.toWeights(), tokenizer });
      console.log(`rlmesh init: wrote ${out} (${model.numParameters()} parameters, seed ${seed})`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
