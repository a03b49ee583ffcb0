// LearnerUpdate gRPC handlers: Step (a batch -> metrics), GetState, SaveCheckpoint, WatchMetrics.
import { EventEmitter, on } from 'node:events';
import path from 'node:path';
import type { LearnerUpdateService, StepRequest } from '../../src/generated/rlmesh/v1/learner.ts';
import type { MetricsEvent } from '../../src/generated/rlmesh/v1/common.ts';
import { check, requireInRange, serverStream, unary, type HandlersFor } from '../../src/platform/grpc/index.ts';
import { RlmeshError, ErrorCategory } from '../../src/errors.ts';
import type { Trainer } from './trainer.ts';

export function validateStep(req: StepRequest, trainer: Trainer): void {
  requireInRange(req.trajectories.length, 'trajectories', { min: 1, max: 4096, integer: true });
  const { learner } = trainer.deps;
  req.trajectories.forEach((t, i) => {
    check(t.trajectoryId.length > 0, `trajectories.${i}.trajectory_id`, 'must not be empty');
    try {
      learner.check(t);
    } catch (e) {
      const field = e instanceof RlmeshError && e.field ? e.field : 'trajectory';
      throw new RlmeshError(ErrorCategory.config, `trajectories.${i}.${field}: ${e instanceof Error ? e.message : String(e)}`, { field: `trajectories.${i}.${field}` });
    }
  });
}

/** A caller's checkpoint path, confined to the run's checkpoints folder (a remote caller never picks where we write). */
export function checkpointDir(root: string, requested: string): string {
  check(!requested.includes('\0'), 'path', 'must not contain NUL');
  check(requested.length <= 200, 'path', `is ${requested.length} characters; at most 200`);
  check(!path.isAbsolute(requested), 'path', 'must be relative to the run\'s checkpoints folder');
  const dir = path.resolve(root, requested);
  check(dir.startsWith(path.resolve(root) + path.sep), 'path', 'must stay inside the run\'s checkpoints folder');
  return dir;
}

export function learnerHandlers(trainer: Trainer, metrics: EventEmitter, runId: string, objective: string): HandlersFor<typeof LearnerUpdateService> {
  const { learner, store, tokenizer } = trainer.deps;
  return {
    step: unary(async (req) => {
      // Published inside the step (after its checkpoint), before any step queued behind it advances the version.
      const outcome = await trainer.step(req.trajectories, [], req.publishWeights);
      return { step: outcome.step, policyVersion: outcome.policyVersion, metrics: outcome.metrics, used: outcome.used.length, droppedStale: outcome.droppedStale.length };
    }, { validate: (req) => validateStep(req, trainer) }),
    getState: unary(async () => ({
      runId, step: learner.step, policyVersion: learner.policyVersion, objective,
      trajectoriesTrained: learner.trained, trajectoriesDroppedStale: learner.droppedStale, lastCheckpoint: store.exists() ? store.dir : '',
    })),
    saveCheckpoint: unary(async (req) => {
      const dir = checkpointDir(path.dirname(store.dir), req.path || `step-${learner.step}`);
      // In the step queue: concurrent saves to one folder would race on its atomic rename, and a save during a step
      // would mix two steps' state.
      return trainer.exclusive(async () => {
        await store.save(learner, tokenizer, dir);
        return { path: dir, step: learner.step };
      });
    }, { validate: (req) => void checkpointDir(path.dirname(store.dir), req.path || 'step-0') }),
    watchMetrics: serverStream(async function* (_req, ctx) {
      for await (const [event] of on(metrics, 'step', { signal: ctx.signal })) yield event as MetricsEvent;
    }),
  };
}
