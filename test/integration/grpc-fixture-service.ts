// Test handlers for the real generated VerifierRewardService, shared by the in-process gRPC tests and the
// child-process fixture. Completions steer the handler: "slow" works until cancelled, "hold:<ms>" waits,
// "throw" raises a non-rlmesh error.
import { setTimeout as sleep } from 'node:timers/promises';
import { Reward, TaskSpec } from '../../src/generated/rlmesh/v1/common.ts';
import { VerifierRewardService } from '../../src/generated/rlmesh/v1/verifier.ts';
import type { GrpcServer } from '../../src/platform/grpc/index.ts';
import { check, checkEach, requireInRange, requireNonEmpty, requireOneOf, unary } from '../../src/platform/grpc/index.ts';

/** What the handlers did, so tests can prove work stopped. */
export interface WorkProbe {
  /** Incremented every 10 ms by a "slow" call while it runs. */
  ticks: number;
  /** Set when a "slow" call saw ctx.signal abort. */
  abortedCalls: number;
  onHoldStarted?: () => void;
}

export function addVerifierTestService(server: GrpcServer, probe: WorkProbe): void {
  server.addService(VerifierRewardService, {
    verify: unary(
      async (req, ctx) => {
        for (const item of req.items) {
          if (item.completion === 'throw') throw new Error('private detail that must not reach the client');
          if (item.completion === 'slow') {
            while (!ctx.signal.aborted) {
              probe.ticks += 1;
              await sleep(10);
            }
            probe.abortedCalls += 1;
            throw ctx.signal.reason;
          }
          const hold = /^hold:(\d+)$/.exec(item.completion);
          if (hold) {
            probe.onHoldStarted?.();
            await sleep(Number(hold[1]));
          }
        }
        return {
          rewards: req.items.map((item) =>
            Reward.fromPartial({ total: item.completion.length, correct: true, parsedAnswer: item.completion }),
          ),
        };
      },
      {
        validate: (req) => {
          requireNonEmpty(req.items, 'items');
          checkEach(req.items, 'items', (item, f) => check(item.completion.length > 0, `${f}.completion`, 'must not be empty'));
        },
      },
    ),
    listTasks: unary(
      async (req) => ({
        tasks: Array.from({ length: req.limit }, (_, i) =>
          TaskSpec.fromPartial({ taskId: `${req.suite}/${req.split}/${i}`, category: req.suite, split: req.split }),
        ),
      }),
      {
        validate: (req) => {
          requireOneOf(req.split, ['train', 'heldout'], 'split');
          requireInRange(req.limit, 'limit', { min: 1, max: 10_000, integer: true });
        },
      },
    ),
  });
}
