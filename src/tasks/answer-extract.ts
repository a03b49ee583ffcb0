// Pulls the final answer out of a completion: <answer> tags, then \boxed{...}, then "#### n", then (for
// numeric answers) the last number. Every search is a linear lastIndexOf / brace scan.
import { normaliseMathText, scanNumbers, scanTail } from './number-scan.ts';
import type { AnswerKind } from './task.ts';

export type AnswerSource = 'answer_tag' | 'boxed' | 'hash' | 'last_number' | 'last_list' | 'none';

export interface ExtractedAnswer {
  /** the answer text ("" when none was found) */
  text: string;
  source: AnswerSource;
}

const BOX_COMMANDS = ['\\boxed', '\\fbox'];

/** Content of the last \boxed{...} / \fbox{...} (balanced braces) or "\boxed 5"; null when absent or unclosed. */
export function lastBoxed(text: string): string | null {
  let at = -1;
  let cmd = '';
  for (const c of BOX_COMMANDS) {
    const k = text.lastIndexOf(c);
    if (k > at) [at, cmd] = [k, c];
  }
  if (at < 0) return null;
  let i = at + cmd.length;
  if (text[i] === ' ') {
    // "\boxed 5": the next whitespace-free run
    let e = i + 1;
    while (e < text.length && !/[\s$]/.test(text[e]!)) e++;
    return e > i + 1 ? text.slice(i + 1, e) : null;
  }
  if (text[i] !== '{') return null;
  let depth = 0;
  for (; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(at + cmd.length + 1, i);
  }
  return null;
}

function lastAnswerTag(text: string): string | null {
  const close = text.lastIndexOf('</answer>');
  if (close < 0) return null;
  const open = text.lastIndexOf('<answer>', close);
  return open < 0 ? null : text.slice(open + '<answer>'.length, close);
}

function afterHashes(text: string): string | null {
  const k = text.lastIndexOf('####');
  if (k < 0) return null;
  const nl = text.indexOf('\n', k);
  const rest = text.slice(k + 4, nl < 0 ? undefined : nl).trim();
  return rest.length ? rest : null;
}

/** Finds the final answer; `kind` decides the last-resort fallback (last number / last [..] list / none). */
export function extractAnswer(completion: string, kind: AnswerKind = 'number'): ExtractedAnswer {
  const tagged = lastAnswerTag(completion);
  if (tagged !== null) {
    const boxedInside = lastBoxed(tagged);
    return { text: (boxedInside ?? tagged).trim(), source: 'answer_tag' };
  }
  const boxed = lastBoxed(completion);
  if (boxed !== null) return { text: boxed.trim(), source: 'boxed' };
  const hashed = afterHashes(completion);
  if (hashed !== null) return { text: hashed, source: 'hash' };
  if (kind === 'number') {
    const text = normaliseMathText(scanTail(completion));
    const tokens = scanNumbers(text);
    const last = tokens[tokens.length - 1];
    if (last) return { text: text.slice(last.start, last.end).trim(), source: 'last_number' };
  } else if (kind === 'list') {
    const close = completion.lastIndexOf(']');
    const open = close < 0 ? -1 : completion.lastIndexOf('[', close);
    if (open >= 0) return { text: completion.slice(open, close + 1), source: 'last_list' };
  }
  return { text: '', source: 'none' };
}
