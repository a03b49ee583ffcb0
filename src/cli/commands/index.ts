// Registry of CLI subcommands. Add a command: create its file here and list it below.
import type { Command } from './command.ts';
import { up } from './up.ts';

export const commands: Record<string, Command> = {
  [up.name]: up,
};
