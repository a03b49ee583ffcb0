// `rlmesh generate`: samples completions of a prompt from a checkpoint folder (seeded, reproducible).
// Usage: npx rlmesh generate --model ckpt/tiny --prompt "2+2=" [--max-new-tokens 32 --temperature 0.8
//        --top-k 20 --top-p 0.95 --seed 0 -n 4 --json]   (unset sampling flags come from generation_config.json)
import { invalidField } from '../../errors.ts';
import { generate as sample } from '../../engine/sampler.ts';
import { parseFlags, type Command } from './command.ts';
import { expandShortFlags, loadModel, numberFlag, stringFlag } from './model-flags.ts';

export const generate: Command = {
  name: 'generate',
  summary: 'sample completions: --model DIR --prompt TEXT [--max-new-tokens N --temperature T --top-k K --top-p P --seed S -n N --json]',
  async run(args) {
    const { flags } = parseFlags(expandShortFlags(args, { '-n': 'n' }),
      ['model', 'prompt', 'max-new-tokens', 'temperature', 'top-k', 'top-p', 'seed', 'n'], ['json']);
    const dir = stringFlag(flags, 'model', true);
    const prompt = stringFlag(flags, 'prompt', true);
    const n = numberFlag(flags, 'n', { integer: true, min: 1, max: 1024 }) ?? 1;
    const seed = numberFlag(flags, 'seed', { integer: true, min: 0, max: 0xffffffff }) ?? 0;
    const { checkpoint, model } = await loadModel(dir);
    try {
      const { tokenizer, config } = checkpoint;
      const defaults = checkpoint.generation ?? {};
      const promptIds = tokenizer.encode(prompt, { bos: true });
      const room = config.max_position_embeddings - promptIds.length;
      const context = `the model's context is ${config.max_position_embeddings} tokens (max_position_embeddings) and the prompt takes ${promptIds.length}`;
      if (room < 1) throw invalidField('--prompt', `leaves no room to generate: ${context}`);
      const maxNewTokens = numberFlag(flags, 'max-new-tokens', { integer: true, min: 1 });
      if (maxNewTokens !== undefined && maxNewTokens > room) throw invalidField('--max-new-tokens', `must be <= ${room}, got ${maxNewTokens}: ${context}`);
      const greedy = defaults.do_sample === false;
      const options = {
        maxNewTokens: maxNewTokens ?? Math.min(defaults.max_new_tokens ?? 64, room),
        temperature: numberFlag(flags, 'temperature', { min: 0 }) ?? (greedy ? 0 : defaults.temperature ?? 1),
        topK: numberFlag(flags, 'top-k', { integer: true, min: 0 }) ?? defaults.top_k ?? 0,
        topP: numberFlag(flags, 'top-p', { max: 1 }) ?? defaults.top_p ?? 1,
        seed,
      };
      const results = sample(model, Array.from({ length: n }, () => promptIds), options);
      const completions = results.map((r) => ({
        text: tokenizer.decode(r.tokens, { skipSpecial: true }),
        tokens: r.tokens,
        finish_reason: r.finishReason,
        logprob: r.modelLogprobs.reduce((a, b) => a + b, 0),
      }));
      if (flags.json === true) {
        console.log(JSON.stringify({ prompt, completions }));
        return 0;
      }
      completions.forEach((c, i) => {
        console.log(`--- sample ${i + 1}/${n} (${c.tokens.length} tokens, ${c.finish_reason}, logprob ${c.logprob.toFixed(3)})`);
        console.log(prompt + c.text);
      });
      return 0;
    } finally {
      model.dispose();
    }
  },
};
