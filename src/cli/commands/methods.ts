// `rlmesh methods [--json]`: every method a run config can name, by family, with its parameters, types,
// ranges and defaults read from the zod schemas (objectives, selectors, entropy control, shaping, curricula).
// Paste: npx rlmesh methods            npx rlmesh methods --json | jq '.families.curriculum'
import { z } from 'zod';
import type { Command } from './command.ts';
import { parseFlags } from './command.ts';
import { methodRegistry, type MethodFamily } from '../../objectives/index.ts';
import { batchFilters, curricula } from '../../curriculum/index.ts';
import { NOT_IN_RUNS } from '../../config/index.ts';

/** A method's summary, saying when a run config cannot use it yet (and why). */
function runNote(name: string, summary: string): string {
  const why = Object.hasOwn(NOT_IN_RUNS, name) ? NOT_IN_RUNS[name] : undefined;
  return why ? `${summary} [library only, refused in a run config: ${why}]` : summary;
}

export interface ParamListing {
  name: string;
  /** e.g. `number`, `integer`, `boolean`, `enum`, `[number, number]`. */
  type: string;
  /** Allowed values (enums) or bounds, e.g. `>= 0, <= 1`; '' when unconstrained. */
  constraint: string;
  /** Default value; undefined when the parameter is required. */
  default?: unknown;
  nullable: boolean;
}

export interface MethodEntry {
  name: string;
  summary: string;
  /** Curricula only: `sampler` (chooses tasks) or `layer` (wraps a sampler). */
  kind?: string;
  params: ParamListing[];
}

export interface MethodsListing {
  families: Record<string, MethodEntry[]>;
}

/** Type, constraint, default and nullability of one zod field, unwrapping defaults/optionals/nullables. */
export function describeField(schema: z.ZodTypeAny): Omit<ParamListing, 'name'> {
  let s = schema;
  let def: unknown;
  let hasDefault = false;
  let nullable = false;
  for (;;) {
    if (s instanceof z.ZodDefault) {
      if (!hasDefault) def = s._def.defaultValue();
      hasDefault = true;
      s = s._def.innerType;
    } else if (s instanceof z.ZodNullable) {
      nullable = true;
      s = s._def.innerType;
    } else if (s instanceof z.ZodOptional) {
      s = s._def.innerType;
    } else if (s instanceof z.ZodEffects) {
      s = s._def.schema;
    } else break;
  }
  let type = s._def.typeName.replace(/^Zod/, '').toLowerCase();
  const bounds: string[] = [];
  if (s instanceof z.ZodNumber) {
    for (const c of s._def.checks) {
      if (c.kind === 'int') type = 'integer';
      if (c.kind === 'min') bounds.push(`${c.inclusive ? '>=' : '>'} ${c.value}`);
      if (c.kind === 'max') bounds.push(`${c.inclusive ? '<=' : '<'} ${c.value}`);
    }
  } else if (s instanceof z.ZodEnum) {
    bounds.push((s.options as string[]).join(' | '));
  } else if (s instanceof z.ZodTuple) {
    type = `[${(s.items as z.ZodTypeAny[]).map((i) => describeField(i).type).join(', ')}]`;
  }
  return { type, constraint: bounds.join(', '), ...(hasDefault ? { default: def } : {}), nullable };
}

function describeParams(schema: z.AnyZodObject): ParamListing[] {
  return Object.entries(schema.shape as Record<string, z.ZodTypeAny>).map(([name, field]) => ({ name, ...describeField(field) }));
}

const FAMILY_TITLES: Record<string, string> = {
  objective: 'objectives (objective)',
  token_selector: 'token selectors (token_selector)',
  entropy_control: 'entropy control (entropy_control)',
  reward_shaping: 'reward shaping (reward_shaping, a list)',
  curriculum: 'curricula (curriculum: samplers by name, layers under curriculum.layers)',
  batch_filter: 'batch filters (batch_filter)',
};

/** Every method by run-config family. */
export function listAllMethods(): MethodsListing {
  const families: Record<string, MethodEntry[]> = {};
  for (const family of Object.keys(methodRegistry) as MethodFamily[]) {
    const record = methodRegistry[family] as unknown as Record<string, { summary: string; params: z.AnyZodObject }>;
    families[family] = Object.entries(record).map(([name, m]) => ({ name, summary: runNote(name, m.summary), params: describeParams(m.params) }));
  }
  families.curriculum = Object.entries(curricula).map(([name, m]) => ({ name, summary: runNote(name, m.summary), kind: m.kind, params: describeParams(m.params) }));
  families.batch_filter = Object.entries(batchFilters).map(([name, m]) => ({ name, summary: m.summary, params: describeParams(m.params) }));
  return { families };
}

function show(v: unknown): string {
  return v === undefined ? '(required)' : JSON.stringify(v);
}

/** Plain-text listing: one block per family, one line per method, one indented line per parameter. */
export function formatMethods(listing: MethodsListing): string {
  const lines: string[] = [];
  for (const [family, entries] of Object.entries(listing.families)) {
    lines.push(`${FAMILY_TITLES[family] ?? family}`);
    for (const m of entries) {
      lines.push(`  ${m.name}${m.kind ? ` [${m.kind}]` : ''}  - ${m.summary}`);
      if (m.params.length === 0) lines.push('      (no parameters)');
      for (const p of m.params) {
        const type = `${p.type}${p.nullable ? ' | null' : ''}${p.constraint ? ` (${p.constraint})` : ''}`;
        lines.push(`      ${p.name.padEnd(22)} ${type.padEnd(44)} default ${show(p.default)}`);
      }
    }
    lines.push('');
  }
  return lines.join('\n');
}

export const methods: Command = {
  name: 'methods',
  summary: 'list every objective, selector, entropy control, shaper and curriculum with parameters and defaults',
  async run(args) {
    const { flags } = parseFlags(args, [], ['json']);
    const listing = listAllMethods();
    process.stdout.write(flags.json ? `${JSON.stringify(listing, null, 2)}\n` : formatMethods(listing));
    return 0;
  },
};
