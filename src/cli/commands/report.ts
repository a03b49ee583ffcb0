// `rlmesh report RUN_DIR`: regenerates runs/<id>/summary.md and plots/*.svg from summary.json + metrics.jsonl.
// Example: npx rlmesh report runs/opd-20261127063446
import path from 'node:path';
import { invalidField } from '../../errors.ts';
import { regenerateSummary } from '../local/run-report.ts';
import { parseFlags, type Command } from './command.ts';

export const report: Command = {
  name: 'report',
  summary: 'regenerate a run folder\'s summary.md (plots + before/after table) from summary.json and metrics.jsonl',
  async run(args) {
    const { positional } = parseFlags(args, []);
    const dir = positional[0];
    if (!dir) throw invalidField('RUN_DIR', 'usage: rlmesh report RUN_DIR (e.g. runs/opd-20261127063446)');
    const summary = regenerateSummary(path.resolve(dir));
    console.log(`wrote ${path.join(dir, 'summary.md')} (run ${summary.runId}, ${summary.steps} steps)`);
    return 0;
  },
};
