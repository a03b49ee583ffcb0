// Turns zod issues into `path.to.field: message` lines: unknown keys one per key, enums with their allowed values.
import type { ZodIssue } from 'zod';

export interface ConfigIssue {
  /** Dotted path, e.g. `sampling.top_p` or `tasks.2.name`; `(root)` for the document itself. */
  path: string;
  message: string;
}

function joinPath(parts: ReadonlyArray<string | number>): string {
  return parts.length === 0 ? '(root)' : parts.join('.');
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function formatIssues(issues: readonly ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue): ConfigIssue[] => {
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: joinPath([...issue.path, key]), message: 'unknown key' }));
      case 'invalid_enum_value':
        return [{
          path: joinPath(issue.path),
          message: `must be one of ${issue.options.map(describeValue).join(', ')} (got ${describeValue(issue.received)})`,
        }];
      case 'invalid_literal':
        return [{ path: joinPath(issue.path), message: `must be ${describeValue(issue.expected)} (got ${describeValue(issue.received)})` }];
      case 'invalid_type':
        return [{
          path: joinPath(issue.path),
          message: issue.received === 'undefined' ? 'is required' : `expected ${issue.expected}, got ${issue.received}`,
        }];
      default:
        return [{ path: joinPath(issue.path), message: issue.message }];
    }
  });
}
