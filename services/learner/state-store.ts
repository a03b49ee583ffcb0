// The learner's durable state: one checkpoint folder rewritten (atomically) after every step, holding weights,
// optimizer moments, step, policy version, the ids already trained on (exactly-once across restarts) and the outbox:
// the step's feedback and metrics messages not yet confirmed by NATS, re-published by a restarted learner.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, recoverCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.ts';
import type { CharTokenizer } from '../../src/engine/tokenizer.ts';
import type { NamedTensors } from '../../src/engine/index.ts';
import type { Learner } from '../../src/actors/index.ts';
import { exportObjectiveState, importObjectiveState, type ObjectiveState } from '../../src/objectives/index.ts';
import type { QuestionDifficultyState } from '../../src/actors/question-difficulty.ts';

/** Trained ids remembered for dedupe; old ones age out (redeliveries arrive within ack_wait * max_deliver). */
const REMEMBERED_IDS = 50_000;

/** A message the learner owes NATS: encoded protobuf and the dedupe id it is published with. */
export interface OutboxEntry {
  kind: 'feedback' | 'metrics';
  msgId: string;
  data: Uint8Array;
}

export interface LearnerStateFile {
  trainedIds: string[];
  /** Outbox entries, data base64. */
  outbox?: Array<{ kind: OutboxEntry['kind']; msgId: string; data: string }>;
  /** the objectives' step-to-step state (SIREN's anchor) */
  objectives?: ObjectiveState;
  /** CEEH's per-question accuracy EMAs and shortest correct lengths */
  questions?: QuestionDifficultyState;
}

export class LearnerStateStore {
  readonly dir: string;
  readonly trained = new Set<string>();
  /** Messages not yet confirmed published, oldest first (the Trainer appends and removes). */
  readonly outbox: OutboxEntry[] = [];

  constructor(runDir: string) {
    this.dir = path.join(runDir, 'checkpoints', 'latest');
  }

  /**
   * Puts back the previous checkpoint when a save was killed between its two renames (`latest` missing, the previous
   * one set aside): without it the learner would start over at step 0 and train its trajectories again.
   */
  recover(): Promise<boolean> {
    return recoverCheckpoint(this.dir);
  }

  exists(): boolean {
    return existsSync(path.join(this.dir, 'trainer_state.json'));
  }

  /** Restores weights, optimizer, step, version and trained ids into `learner`. */
  async restore(learner: Learner): Promise<void> {
    const ckpt = await loadCheckpoint(this.dir);
    learner.model.loadWeights(ckpt.weights);
    const t = ckpt.trainer!;
    learner.optimizer.importState({ step: t.step, tensors: t.moments });
    learner.step = t.step;
    learner.policyVersion = t.policy_version;
    const rng = (t.rng ?? {}) as Partial<LearnerStateFile> & { trained?: number; droppedStale?: number };
    for (const id of rng.trainedIds ?? []) this.trained.add(id);
    this.outbox.length = 0;
    for (const e of rng.outbox ?? []) this.outbox.push({ kind: e.kind, msgId: e.msgId, data: Buffer.from(e.data, 'base64') });
    learner.trained = rng.trained ?? 0;
    learner.droppedStale = rng.droppedStale ?? 0;
    importObjectiveState(learner.options.objectives, rng.objectives);
    learner.questions?.import(rng.questions);
  }

  /** Writes the checkpoint; `weights` (default: read from the model now) lets a caller share one read per step. */
  async save(learner: Learner, tokenizer: CharTokenizer, dir = this.dir, weights: NamedTensors = learner.model.toWeights()): Promise<string> {
    const ids = [...this.trained];
    const opt = learner.optimizer.exportState();
    const o = learner.optimizer.options;
    await saveCheckpoint(dir, {
      config: learner.model.config,
      weights,
      tokenizer,
      trainer: {
        step: learner.step,
        policy_version: learner.policyVersion,
        optimizer: { name: 'adamw', lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weight_decay: o.weightDecay, max_grad_norm: o.maxGradNorm },
        rng: {
          trainedIds: ids.slice(-REMEMBERED_IDS), trained: learner.trained, droppedStale: learner.droppedStale,
          outbox: this.outbox.map((e) => ({ kind: e.kind, msgId: e.msgId, data: Buffer.from(e.data).toString('base64') })),
          objectives: exportObjectiveState(learner.options.objectives),
          ...(learner.questions ? { questions: learner.questions.export() } : {}),
        },
        moments: opt.tensors,
      },
    });
    return dir;
  }
}
