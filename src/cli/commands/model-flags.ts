// Flag helpers shared by the model commands (init, score, generate): typed flag values and checkpoint loading.
import { invalidField } from '../../errors.ts';
import { loadCheckpoint, type Checkpoint } from '../../engine/checkpoint.ts';
import { LlamaModel } from '../../engine/model.ts';
import type { Flags } from './command.ts';

/** The single string value of `--name`, or undefined when absent. Refuses a bare flag or a repeated one. */
export function stringFlag(flags: Flags, name: string, required: true): string;
export function stringFlag(flags: Flags, name: string, required?: false): string | undefined;
export function stringFlag(flags: Flags, name: string, required = false): string | undefined {
  const v = flags[name];
  if (v === undefined) {
    if (required) throw invalidField(`--${name}`, 'is required');
    return undefined;
  }
  if (typeof v !== 'string') throw invalidField(`--${name}`, Array.isArray(v) ? 'given more than once' : 'needs a value');
  return v;
}

/** A numeric flag; `integer` refuses fractions, `min` is inclusive. */
export function numberFlag(flags: Flags, name: string, rule: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const s = stringFlag(flags, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  const kind = rule.integer ? 'an integer' : 'a number';
  if (s.trim() === '' || !Number.isFinite(v) || (rule.integer && !Number.isInteger(v))) throw invalidField(`--${name}`, `must be ${kind}, got "${s}"`);
  if (rule.min !== undefined && v < rule.min) throw invalidField(`--${name}`, `must be >= ${rule.min}, got ${v}`);
  if (rule.max !== undefined && v > rule.max) throw invalidField(`--${name}`, `must be <= ${rule.max}, got ${v}`);
  return v;
}

/** `-n 4` -> `--n 4` (parseFlags only knows double-dash flags). */
export function expandShortFlags(args: string[], short: Record<string, string>): string[] {
  return args.map((a) => (a in short ? `--${short[a]}` : a));
}

/** Loads a checkpoint folder and builds the model from it. */
export async function loadModel(dir: string): Promise<{ checkpoint: Checkpoint; model: LlamaModel }> {
  const checkpoint = await loadCheckpoint(dir);
  return { checkpoint, model: LlamaModel.fromWeights(checkpoint.config, checkpoint.weights) };
}
