// Config files: YAML or JSON (by extension, else sniffed), validated by a zod schema into a typed value.
// Every problem is reported at once as an RlmeshError (category config) listing `path.to.field: message`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodType, ZodTypeDef } from 'zod';
import { RlmeshError } from '../../errors.ts';
import { formatIssues } from './format-issues.ts';
import type { ConfigIssue } from './format-issues.ts';

export type ConfigFormat = 'yaml' | 'json';

/** Format from the extension (.yaml/.yml/.json); otherwise JSON when the text starts with `{` or `[`. */
export function detectFormat(filePath: string, text: string): ConfigFormat {
  const ext = path.extname(filePath).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[[{]/.test(text) ? 'json' : 'yaml';
}

/** Parses config text; syntax errors become RlmeshError naming the source and position. */
export function parseConfigText(text: string, format: ConfigFormat, sourceName: string): unknown {
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new RlmeshError('config', `${sourceName}: not valid ${format.toUpperCase()}: ${why}`, { cause, details: { source: sourceName } });
  }
}

/**
 * Validates an already-parsed value. Schemas should be `.strict()` so unknown keys are refused.
 * The error's `field` is the first issue's path; `details.issues` lists all of them.
 */
export function parseConfig<Out, In = Out>(raw: unknown, schema: ZodType<Out, ZodTypeDef, In>, sourceName: string): Out {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = formatIssues(result.error.issues);
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  const noun = issues.length === 1 ? 'problem' : 'problems';
  throw new RlmeshError('config', `invalid config in ${sourceName} (${issues.length} ${noun}):\n${lines}`, {
    field: issues[0]?.path,
    details: { source: sourceName, issues },
  });
}

/** Reads, parses and validates a YAML or JSON config file. */
export async function loadConfigFile<Out, In = Out>(filePath: string, schema: ZodType<Out, ZodTypeDef, In>): Promise<Out> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(cause)})`;
    throw new RlmeshError('config', `config file ${filePath}: ${why}`, { cause, details: { source: filePath } });
  }
  return parseConfig(parseConfigText(text, detectFormat(filePath, text), filePath), schema, filePath);
}
