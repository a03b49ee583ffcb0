// The same compute as a distributed run, in one process and strictly on-policy: curriculum -> rollout -> verify
// -> (batch filter) -> teacher score -> learner step. Used by `rlmesh compare`, the pipeline-overhead bench and learning tests.
import type { CompiledRunConfig } from '../config/index.ts';
import { generateTask, listTasks, toTaskSpec, withLengthBudget, type Task } from '../tasks/index.ts';
import { evaluatePolicy } from './evaluate.ts';
import { runGrader } from './run-rewards.ts';
import type { SamplingParams, TaskSpec, Trajectory } from '../generated/rlmesh/v1/common.ts';
import { curriculumFeedback, filterStepMetrics } from '../curriculum/index.ts';
import { Learner, learnerOptionsFor, maxLoopSteps, taskFeedback } from './learner.ts';
import { chunkByRows, sampleGroups, type RolloutRequest, type Samplers } from './rollout.ts';
import { prefixSourceFor, usesTeacherPrefixes } from '../objectives/index.ts';
import { scoreTrajectories, type Teacher } from './teacher.ts';
import type { Policy } from './policy.ts';
import { invalidField } from '../errors.ts';

export interface LocalLoopOptions {
  run: CompiledRunConfig;
  /** The student; its model is trained in place. */
  student: Policy;
  teacher?: Teacher;
  steps: number;
  /**
   * Sample the step's groups together in batched generate calls of at most this many rows, as a rollout worker
   * holding them does (rolloutGroups; the samples then depend on which groups share a call). Default: one call per
   * group, seeded by its group id.
   */
  batchRows?: number;
  /** Called after every step; return true to stop early. */
  onStep?: (step: number, metrics: Record<string, number>, totals: LoopTotals) => boolean | void;
}

export interface LoopTotals {
  steps: number;
  rolloutTokens: number;
  trajectories: number;
}

export function runLocalLoop(opts: LocalLoopOptions): LoopTotals {
  const { run, student, teacher } = opts;
  const cfg = run.config;
  if (opts.steps > maxLoopSteps(run)) {
    throw invalidField('steps', `${opts.steps} is past learner.steps (${cfg.learner.steps}), where the ${cfg.learner.lr_schedule} learning rate reaches 0`);
  }
  const learner = new Learner(student.model, learnerOptionsFor(run, student.tokenizer.padId));
  const curriculum = run.createCurriculum();
  const filter = run.createBatchFilter();
  const s = cfg.rollout.sampling;
  const grade = runGrader(run);
  const groups = run.groupsPerStep;
  if (usesTeacherPrefixes(cfg.objective) && !teacher) throw invalidField('teacher', 'teacher prefixes need the teacher model');
  const samplers: Samplers = { student, teacher };
  const totals: LoopTotals = { steps: 0, rolloutTokens: 0, trajectories: 0 };
  let dispatch = 0;
  let heldout: Task[] | undefined;
  const measureHeldoutEntropy = (): number => {
    heldout ??= listTasks({ suite: cfg.tasks.suite, split: 'heldout', limit: cfg.eval.heldout_size, seed: cfg.seed });
    return evaluatePolicy(student, heldout, { k: 1, temperature: 0, maxNewTokens: s.max_new_tokens }).meanEntropy;
  };

  /** One generation batch: `groups` tasks from the curriculum, sampled and rewarded; one array per group. */
  function generationBatch(): Trajectory[][] {
    // the curriculum's controls, as the run controller applies them per dispatch: a length cap, a length budget
    const controls = curriculum.controls();
    const sampling: SamplingParams = { temperature: s.temperature, topK: s.top_k, topP: s.top_p, maxNewTokens: controls.maxNewTokens ?? s.max_new_tokens, stopTokenIds: [], seed: 0 };
    const requests = curriculum.next(groups).map((p): RolloutRequest => {
      const task = generateTask({ category: p.category as never, difficulty: p.difficulty, split: 'train', index: p.index, template: p.templateIndex });
      return {
        runId: cfg.run_id, groupId: `${cfg.run_id}-g${dispatch++}`, task: withLengthBudget(toTaskSpec(task), controls.lengthBudget) as TaskSpec, sampling,
        groupSize: p.groupSize ?? cfg.rollout.group_size, workerId: 'local', dispatchIndex: p.index,
      };
    });
    const chunks = opts.batchRows ? chunkByRows(requests, opts.batchRows) : requests.map((r) => [r]);
    // each group from its prefix source: the student (on-policy), the teacher (mode sft) or the dataset (GKD)
    const sampled = chunks.flatMap((chunk) => sampleGroups(samplers, chunk, (r) => prefixSourceFor(cfg.objective, r.groupId)));
    for (const g of sampled) {
      grade(g); // as the run's verifier grades: weights, length budget, reward shaping
      totals.trajectories += g.length;
      totals.rolloutTokens += g.reduce((a, t) => a + t.completionTokenIds.length, 0);
    }
    return sampled;
  }

  for (let step = 0; step < opts.steps; step++) {
    let batch: Trajectory[][];
    const unused: Trajectory[][] = [];
    let filterMetrics: Record<string, number> = {};
    if (!filter) batch = generationBatch();
    else {
      // DAPO dynamic sampling: generation batches until `groups` groups with contrast are admitted; the filtered
      // ones and the surplus are not trained on but still tell the curriculum how the task went.
      batch = [];
      while (batch.length < groups) for (const g of generationBatch()) (filter.admit(g) ? batch : unused).push(g);
      unused.push(...batch.splice(groups));
      filterMetrics = filterStepMetrics(filter.batchTaken());
    }
    const trajs = batch.flat();
    if (teacher && run.mode.needsTeacher) {
      const scores = scoreTrajectories(teacher, trajs, { full: learner.needs.full });
      trajs.forEach((t, i) => { t.teacher = scores[i]; });
    }
    const outcome = learner.trainStep(trajs);
    student.version = learner.policyVersion;
    const feedback = [...outcome.feedback, ...taskFeedback(cfg.run_id, outcome.step, unused.flat())];
    // the entropy-gated length curriculum asks for a held-out entropy measurement (the learner's metrics carry it in a
    // distributed run): greedy on the run's held-out tasks with the weights just trained
    const signal = curriculum.controls().needsHeldoutEntropy ? { heldoutEntropy: measureHeldoutEntropy() } : {};
    curriculum.update(feedback.map(curriculumFeedback), signal);
    totals.steps++;
    if (opts.onStep?.(totals.steps, { ...outcome.metrics, ...filterMetrics }, totals)) break;
  }
  return totals;
}
