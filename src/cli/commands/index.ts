// Registry of CLI subcommands. Add a command: create its file here and list it below.
import type { Command } from './command.ts';
import { up } from './up.ts';
import { init } from './init.ts';
import { score } from './score.ts';
import { generate } from './generate.ts';
import { methods } from './methods.ts';
import { evalCommand } from './eval.ts';
import { pretrain } from './pretrain.ts';
import { serve } from './serve.ts';
import { report } from './report.ts';
import { compare } from './compare.ts';

export const commands: Record<string, Command> = {
  [up.name]: up,
  [init.name]: init,
  [score.name]: score,
  [generate.name]: generate,
  [methods.name]: methods,
  [evalCommand.name]: evalCommand,
  [pretrain.name]: pretrain,
  [serve.name]: serve,
  [report.name]: report,
  [compare.name]: compare,
};
