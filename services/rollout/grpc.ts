// StudentRollout gRPC handlers: Generate (server-streaming trajectories) and GetPolicy.
import { randomUUID } from 'node:crypto';
import { rolloutGroup, type Policy } from '../../src/actors/index.ts';
import type { StudentRolloutService } from '../../src/generated/rlmesh/v1/rollout.ts';
import type { GenerateRequest } from '../../src/generated/rlmesh/v1/rollout.ts';
import { requireInRange, requirePresent, serverStream, unary, type HandlersFor } from '../../src/platform/grpc/index.ts';
import { checkPrompt, checkSampling } from '../common/validate.ts';
import { SamplingParams } from '../../src/generated/rlmesh/v1/common.ts';

export function validateGenerate(req: GenerateRequest, policy: Policy): void {
  requirePresent(req.task, 'task');
  checkPrompt(req.task!.prompt, policy, 'task.prompt');
  requireInRange(req.numSamples, 'num_samples', { min: 1, max: 256, integer: true });
  if (req.sampling) checkSampling(req.sampling, 'sampling');
}

export function rolloutHandlers(policy: Policy, runId: string, workerId: string, backend: string): HandlersFor<typeof StudentRolloutService> {
  return {
    generate: serverStream(async function* (req, ctx) {
      const trajectories = rolloutGroup(policy, {
        runId: req.runId || runId, groupId: req.groupId || `grpc-${randomUUID()}`, task: req.task!,
        sampling: req.sampling ?? SamplingParams.fromPartial({}), groupSize: req.numSamples, workerId,
      });
      for (const t of trajectories) {
        if (ctx.signal.aborted) return;
        yield t;
      }
    }, { validate: (req) => validateGenerate(req, policy) }),
    getPolicy: unary(async () => ({
      policyVersion: policy.version, modelId: 'student', numParameters: policy.model.numParameters(), backend, workerId,
    })),
  };
}
