// Public surface of src/tasks: verifiable task generation, answer checking, rewards and eval metrics.
// Countdown rules: exact rational arithmetic (the value must be the target; fractions along the way are fine), no
// division by zero, no unary minus, negative intermediates allowed, each given number used at most once.
export type { Task, AnswerKind } from './task.ts';
export type { TaskRef } from './generate.ts';
export type { SuiteEntry, ListTasksOptions } from './suite.ts';
export type { TaskSpecShape } from './task-spec.ts';
export type { ExtractedAnswer, AnswerSource } from './answer-extract.ts';
export type { Rational } from './rational.ts';
export type { ExpressionResult } from './expression.ts';
export type { FormatCheck } from './format-check.ts';
export type { OverlongOptions } from './length-rewards.ts';
export type { RewardOptions, CompiledRewardOptions } from './reward-options.ts';
export type { GradingTarget, AnswerVerdict } from './check-answer.ts';
export type { RewardResult } from './verify.ts';
export type { VerifyInput, VerifyOutcome } from './verify-batch.ts';
export type { GradedSample, EvalMetrics, EvalReport } from './eval-metrics.ts';

export { TaskCategory, TaskSplit, TASK_CATEGORIES, DIFFICULTY_RANGE, ANSWER_KIND, isTaskCategory, isTaskSplit } from './task.ts';
export { generateTask, taskFromId, parseTaskId, formatTaskId, splitOfProblem, templateCount, HELDOUT_PERCENT } from './generate.ts';
export { parseSuiteSpec, listTasks, NAMED_SUITES, MAX_LIST_LIMIT } from './suite.ts';
export { LENGTH_BUDGET_PARAM, toTaskSpec, fromTaskSpec, withLengthBudget } from './task-spec.ts';
export { extractAnswer, lastBoxed } from './answer-extract.ts';
export { parseNumericAnswer, parseListAnswer, numericAnswersEqual, listAnswersEqual } from './answer-equivalence.ts';
export { formatRational, rationalEquals } from './rational.ts';
export { evaluateExpression, checkCountdown } from './expression.ts';
export { checkFormat } from './format-check.ts';
export { triangularLengthReward, overlongPenalty, DEFAULT_OVERLONG } from './length-rewards.ts';
export { RewardComponent, DEFAULT_REWARD_WEIGHTS, compileRewardOptions } from './reward-options.ts';
export { checkAnswer } from './check-answer.ts';
export { verifyCompletion, completionLength } from './verify.ts';
export { verifyBatch, resolveTask } from './verify-batch.ts';
export { passAtK, evaluateSamples } from './eval-metrics.ts';
export { formatEvalTable } from './eval-table.ts';
