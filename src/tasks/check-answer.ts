// Grades an extracted answer against a task: numeric equivalence, element-wise lists, or countdown evaluation.
import { listAnswersEqual, numericAnswersEqual } from './answer-equivalence.ts';
import { checkCountdown } from './expression.ts';
import { ANSWER_KIND, type Task } from './task.ts';

/** What grading needs from a task. */
export type GradingTarget = Pick<Task, 'category' | 'answer' | 'params'>;

export interface AnswerVerdict {
  correct: boolean;
  reason: string;
}

/** Countdown parameters "numbers" ("3,4,5") and "target" ("17"); null when malformed. */
export function countdownParams(params: Record<string, string>): { numbers: number[]; target: number } | null {
  const nums = params.numbers;
  const target = params.target;
  if (nums === undefined || target === undefined) return null;
  if (!/^\d{1,6}(,\d{1,6}){0,15}$/.test(nums) || !/^\d{1,9}$/.test(target)) return null;
  return { numbers: nums.split(',').map(Number), target: Number(target) };
}

export function checkAnswer(task: GradingTarget, answer: string): AnswerVerdict {
  const kind = ANSWER_KIND[task.category];
  if (kind === 'expression') {
    const p = countdownParams(task.params);
    if (!p) return { correct: false, reason: 'task has no valid countdown numbers/target' };
    const r = checkCountdown(answer, p.numbers, p.target);
    return { correct: r.ok, reason: r.reason };
  }
  const equal = kind === 'list' ? listAnswersEqual(answer, task.answer) : numericAnswersEqual(answer, task.answer);
  return equal ? { correct: true, reason: 'correct' } : { correct: false, reason: `wrong answer: expected ${task.answer}` };
}
