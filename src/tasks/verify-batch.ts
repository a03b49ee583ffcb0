// Grades a batch of completions given by task id or explicit spec. Per-item outcomes: a reward, or the
// RlmeshError (config / not_found, field "items[i]...") a service maps to INVALID_ARGUMENT.
import { RlmeshError } from '../errors.ts';
import { taskFromId } from './generate.ts';
import type { CompiledRewardOptions } from './reward-options.ts';
import { fromTaskSpec, type TaskSpecShape } from './task-spec.ts';
import type { Task } from './task.ts';
import { verifyCompletion, type RewardResult } from './verify.ts';

export interface VerifyInput {
  /** a task id `taskFromId` can regenerate, used when `task` is absent */
  taskId?: string;
  /** an explicit spec; takes precedence over taskId */
  task?: TaskSpecShape;
  completion: string | Uint8Array;
  /** length in tokens for length rewards; 0 or absent = measure the text */
  completionTokens?: number;
}

export type VerifyOutcome = { ok: true; reward: RewardResult; task: Task } | { ok: false; error: RlmeshError };

const CACHE_LIMIT = 16384; // entries; a task is ~0.5 KB

/**
 * Resolves the task an input names; throws RlmeshError with `field` = "<prefix>.task_id" or "<prefix>.task.*".
 * `cache` (task id -> task) may outlive one call so a service regenerates each id once; it is cleared when it passes
 * 16384 entries.
 */
export function resolveTask(input: Pick<VerifyInput, 'taskId' | 'task'>, prefix = 'items[0]', cache?: Map<string, Task>): Task {
  if (input.task) return fromTaskSpec(input.task, `${prefix}.task`);
  const id = input.taskId ?? '';
  const hit = cache?.get(id);
  if (hit) return hit;
  const task = taskFromId(id, `${prefix}.task_id`);
  if (cache) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(id, task);
  }
  return task;
}

/** Grades every item (tasks resolved through `cache`, see resolveTask). */
export function verifyBatch(items: readonly VerifyInput[], options?: CompiledRewardOptions, cache = new Map<string, Task>()): VerifyOutcome[] {
  return items.map((item, i): VerifyOutcome => {
    let task: Task;
    try {
      task = resolveTask(item, `items[${i}]`, cache);
    } catch (e) {
      if (e instanceof RlmeshError) return { ok: false, error: e };
      throw e;
    }
    return { ok: true, task, reward: verifyCompletion(task, item.completion, options, item.completionTokens ?? 0) };
  });
}
