// Public surface of the config loader: YAML/JSON files validated by zod schemas, errors listing every issue.
export type { ConfigIssue } from './format-issues.ts';
export type { ConfigFormat } from './load-config.ts';

export { detectFormat, loadConfigFile, parseConfig, parseConfigText } from './load-config.ts';
export { formatIssues } from './format-issues.ts';
