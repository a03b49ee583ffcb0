// `rlmesh up` (what `npm start` runs): the embedded default run. Filled in by the pipeline issue.
import type { Command } from './command.ts';

export const up: Command = {
  name: 'up',
  summary: 'run the default OPD job locally (starts NATS and every actor it needs)',
  async run() {
    console.log('rlmesh: no run yet');
    return 0;
  },
};
