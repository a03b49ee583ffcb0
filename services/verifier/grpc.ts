// VerifierReward gRPC handlers: Verify (a batch of completions -> one Reward each) and ListTasks.
// Completion problems (empty, oversized, invalid UTF-8, bad tags) are graded reward 0 with a reason; request
// problems (no items, > 4096 items, an unknown task id, an impossible task spec, bad weights) fail the whole call
// with INVALID_ARGUMENT naming the field (e.g. `items.3.task_id`): a wrong id is the caller's bug, and a reward 0
// for it would pass silently into training.
import { invalidField } from '../../src/errors.ts';
import type { VerifierRewardService, VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import { check, requireInRange, unary, type HandlersFor } from '../../src/platform/grpc/index.ts';
import { listTasks, toTaskSpec, verifyBatch, type RewardComponent, type Task, type VerifyInput } from '../../src/tasks/index.ts';
import { requestRewardOptions, toRewardMessage } from '../../src/actors/run-rewards.ts';

export const MAX_VERIFY_ITEMS = 4096;

export interface VerifierGrpcDeps {
  /** Run-config weights, the base a request's `weights` map overrides. */
  weights: Readonly<Record<RewardComponent, number>>;
  /** task id -> task, shared across calls (and with the worker) so each id is regenerated once. */
  cache: Map<string, Task>;
  /** Called after each graded batch (for counters). */
  onVerified?: (items: number, correct: number) => void;
}

export function validateVerify(req: VerifyRequest): void {
  check(req.items.length > 0, 'items', 'must hold at least one item');
  check(req.items.length <= MAX_VERIFY_ITEMS, 'items', `holds ${req.items.length} items; at most ${MAX_VERIFY_ITEMS} per call`);
  req.items.forEach((item, i) => requireInRange(item.completionTokens, `items.${i}.completion_tokens`, { min: 0, integer: true }));
}

/** `items[3].task_id` (the library's path) -> `items.3.task_id` (the service's dotted field paths). */
function dotted(path: string): string {
  return path.replace(/items\[(\d+)\]/g, 'items.$1');
}

export function verifierHandlers(deps: VerifierGrpcDeps): HandlersFor<typeof VerifierRewardService> {
  return {
    verify: unary(async (req) => {
      const options = requestRewardOptions(req.weights, deps.weights);
      const inputs: VerifyInput[] = req.items.map((item) => ({
        taskId: item.taskId, task: item.task, completion: item.completion, completionTokens: item.completionTokens,
      }));
      const outcomes = verifyBatch(inputs, options, deps.cache);
      let correct = 0;
      const rewards = outcomes.map((o) => {
        if (!o.ok) {
          // unknown category (not_found in the library) is still the request's fault here: INVALID_ARGUMENT
          const field = dotted(o.error.field ?? 'items');
          const message = dotted(o.error.message);
          throw invalidField(field, message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message);
        }
        if (o.reward.correct) correct++;
        return toRewardMessage(o.reward);
      });
      deps.onVerified?.(rewards.length, correct);
      return { rewards };
    }, { validate: validateVerify }),

    // listTasks refuses a bad suite / split / limit / seed with a config error naming that field
    listTasks: unary(async (req) => ({
      tasks: listTasks({ suite: req.suite, split: req.split, limit: req.limit, seed: req.seed }).map(toTaskSpec),
    })),
  };
}
