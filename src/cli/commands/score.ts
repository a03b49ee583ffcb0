// `rlmesh score`: per-token log-probs and entropies of a completion given a prompt, from a checkpoint folder.
// Usage: npx rlmesh score --model ckpt/tiny --prompt "2+2=" --completion "<answer>4</answer>" [--json]
import { score as scoreSequences } from '../../engine/scoring.ts';
import { parseFlags, type Command } from './command.ts';
import { loadModel, stringFlag } from './model-flags.ts';

export const score: Command = {
  name: 'score',
  summary: 'log-probs and entropies of --completion after --prompt under --model DIR [--json]',
  async run(args) {
    const { flags } = parseFlags(args, ['model', 'prompt', 'completion'], ['json']);
    const dir = stringFlag(flags, 'model', true);
    const prompt = stringFlag(flags, 'prompt', true);
    const completion = stringFlag(flags, 'completion', true);
    const { checkpoint, model } = await loadModel(dir);
    try {
      const { tokenizer } = checkpoint;
      const completionIds = tokenizer.encode(completion);
      const [scored] = scoreSequences(model, [{ prompt: tokenizer.encode(prompt, { bos: true }), completion: completionIds }]);
      const result = { tokens: completionIds.map((id) => tokenizer.idToToken(id)), logprobs: scored!.logprobs, entropies: scored!.entropies };
      if (flags.json === true) {
        console.log(JSON.stringify(result));
        return 0;
      }
      console.log('token        logprob   entropy');
      result.tokens.forEach((t, i) => console.log(`${JSON.stringify(t).padEnd(12)} ${result.logprobs[i]!.toFixed(4).padStart(8)} ${result.entropies[i]!.toFixed(4).padStart(9)}`));
      console.log(`total logprob ${result.logprobs.reduce((a, b) => a + b, 0).toFixed(4)} over ${result.tokens.length} tokens`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
