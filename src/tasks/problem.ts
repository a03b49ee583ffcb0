// The generator contract shared by every task category, and prompt-template rendering.
import type { Rng } from './random.ts';

/** A generated problem before it is given an id, split and template. */
export interface Problem {
  /** canonical text of the problem alone (no template); decides the split, so equal problems share a split */
  key: string;
  /** values substituted into templates, e.g. { a: "37", b: "45" } */
  fields: Record<string, string>;
  params: Record<string, string>;
  answer: string;
  /** scratchpad content placed between <think> and </think> */
  think: string;
}

export interface CategoryGenerator {
  /** prompt templates; index 0 is the short default. Placeholders are `{name}` keys of `Problem.fields`. */
  readonly templates: readonly string[];
  generate(difficulty: number, rng: Rng): Problem;
}

/** Fills `{name}` placeholders; a missing field is a programming error in a generator. */
export function renderTemplate(template: string, fields: Record<string, string>): string {
  return template.replace(/\{([a-z]+)\}/g, (_m, name: string) => {
    const v = fields[name];
    if (v === undefined) throw new Error(`template field {${name}} missing in ${JSON.stringify(fields)}`);
    return v;
  });
}

export function referenceTrace(think: string, answer: string): string {
  return `<think>${think}</think><answer>${answer}</answer>`;
}
