// Tag structure of a completion: well-formed, non-nested, non-overlapping <think>/<answer> blocks.
// One linear pass over the tag occurrences.

export interface FormatCheck {
  /** structure is broken (unbalanced, nested or overlapping tags); the reason says how */
  malformed: boolean;
  /** exactly one non-empty <think> block, before the answer */
  thinkOk: boolean;
  /** exactly one non-empty <answer> block, last in the completion (only whitespace after it) */
  answerOk: boolean;
  reason: string;
}

const TAGS = ['<think>', '</think>', '<answer>', '</answer>'] as const;
type Tag = (typeof TAGS)[number];

function nextTag(text: string, from: number): { tag: Tag; at: number } | null {
  for (let i = text.indexOf('<', from); i >= 0; i = text.indexOf('<', i + 1)) {
    const c = text[i + 1]; // cheap reject before comparing whole tags
    if (c !== 't' && c !== 'a' && c !== '/') continue;
    for (const tag of TAGS) if (text.startsWith(tag, i)) return { tag, at: i };
  }
  return null;
}

export function checkFormat(text: string): FormatCheck {
  let open: { name: 'think' | 'answer'; contentStart: number } | null = null;
  const blocks: Array<{ name: 'think' | 'answer'; empty: boolean; end: number }> = [];
  const broken = (reason: string): FormatCheck => ({ malformed: true, thinkOk: false, answerOk: false, reason });
  for (let t = nextTag(text, 0); t; t = nextTag(text, t.at + t.tag.length)) {
    const closing = t.tag.startsWith('</');
    const name = t.tag.includes('think') ? 'think' : 'answer';
    if (!closing) {
      if (open) return broken(`nested tags: <${name}> inside <${open.name}>`);
      open = { name, contentStart: t.at + t.tag.length };
    } else {
      if (!open) return broken(`unbalanced tags: </${name}> without <${name}>`);
      if (open.name !== name) return broken(`overlapping tags: </${name}> closes <${open.name}>`);
      blocks.push({ name, empty: text.slice(open.contentStart, t.at).trim().length === 0, end: t.at + t.tag.length });
      open = null;
    }
  }
  if (open) return broken(`unbalanced tags: <${open.name}> is never closed`);
  const thinks = blocks.filter((b) => b.name === 'think');
  const answers = blocks.filter((b) => b.name === 'answer');
  const answer = answers[0];
  const answerOk = answers.length === 1 && !answer!.empty && text.slice(answer!.end).trim().length === 0;
  const thinkOk = thinks.length === 1 && !thinks[0]!.empty && (answer === undefined || blocks.indexOf(thinks[0]!) < blocks.indexOf(answer));
  const problems: string[] = [];
  if (answers.length !== 1) problems.push(`${answers.length} answer blocks (want 1)`);
  else if (!answerOk) problems.push(answer!.empty ? 'empty answer block' : 'text after </answer>');
  if (thinks.length !== 1) problems.push(`${thinks.length} think blocks (want 1)`);
  else if (!thinkOk) problems.push(thinks[0]!.empty ? 'empty think block' : 'think block after the answer');
  return { malformed: false, thinkOk, answerOk, reason: problems.length ? problems.join('; ') : 'well-formed' };
}
