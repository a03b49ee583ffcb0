// Shape of a CLI subcommand and a tiny flag parser shared by all of them.
import { invalidField } from '../../errors.ts';

export interface Command {
  name: string;
  summary: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

export type Flags = Record<string, string | boolean | string[]>;

/**
 * Parses `--key value`, `--key=value` and bare `--flag`. Repeated keys collect into arrays. `switches` are flags that
 * never take a value (`--json`): the word after one is a positional argument, not its value.
 */
export function parseFlags(args: string[], known: readonly string[], switches: readonly string[] = []): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) { positional.push(a); continue; }
    let [key, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const isSwitch = switches.includes(key);
    if (!known.includes(key) && !isSwitch) throw invalidField(`--${key}`, `unknown flag; allowed: ${[...known, ...switches].map((k) => `--${k}`).join(', ')}`);
    if (isSwitch && value !== undefined) throw invalidField(`--${key}`, `takes no value, got "${value.slice(0, 40)}"`);
    if (value === undefined && !isSwitch) {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('--')) { value = next; i++; }
    }
    const v: string | boolean = value ?? true;
    const prev = flags[key];
    if (isSwitch) { flags[key] = true; continue; } // a repeated switch is still on
    if (prev === undefined) flags[key] = v;
    else flags[key] = [...(Array.isArray(prev) ? prev : [String(prev)]), String(v)];
  }
  return { flags, positional };
}
