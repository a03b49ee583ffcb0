// CEEH's per-question state (ALGORITHMS.md 9b), kept by the learner across steps: an asymmetric EMA of each
// question's accuracy (eta 0.2 up, 0.05 down), the hard set (EMA below the mean EMA of the questions seen), and the
// shortest correct completion seen per question, for the optimal-length penalty R - min(beta (len - L*) / L*, 0.9) on
// correct answers when the batch's accuracy on the question beats its EMA.
import { ceehHardSet, ceehLengthReward, ceehUpdateAccuracy, ceehUpdateShortest } from '../objectives/index.ts';
import type { Trajectory } from '../generated/rlmesh/v1/common.ts';

export interface QuestionDifficultyState {
  /** task id -> EMA accuracy */
  accuracy: Record<string, number>;
  /** task id -> shortest correct completion, tokens */
  shortest: Record<string, number>;
}

/** Questions remembered at most (the least recently updated are forgotten first). */
const MAX_QUESTIONS = 50_000;

export class QuestionDifficulty {
  private readonly accuracy = new Map<string, number>();
  private readonly shortest = new Map<string, number>();

  /** Per trajectory: its question is in the hard set, by the EMAs before this batch (a question not seen yet is not). */
  hardFlags(trajs: readonly Trajectory[]): boolean[] {
    const ids = [...this.accuracy.keys()];
    const flags = ceehHardSet([...this.accuracy.values()]);
    const hard = new Map(ids.map((id, i) => [id, flags[i]!]));
    return trajs.map((t) => hard.get(t.taskId) ?? false);
  }

  /**
   * The batch's rewards with the optimal-length penalty, then the state updated with the batch: shortest correct
   * lengths first (a correct answer of the shortest length seen is not penalised), accuracy EMAs last (the penalty
   * compares the batch's accuracy with the EMA before it).
   */
  shapeAndUpdate(trajs: readonly Trajectory[], rewards: readonly number[], beta: number): number[] {
    const byTask = new Map<string, number[]>();
    trajs.forEach((t, i) => {
      const idx = byTask.get(t.taskId);
      if (idx) idx.push(i);
      else byTask.set(t.taskId, [i]);
    });
    const batchAcc = new Map<string, number>();
    for (const [id, idx] of byTask) {
      batchAcc.set(id, idx.filter((i) => trajs[i]!.reward?.correct).length / idx.length);
      let s = this.shortest.get(id) ?? null;
      for (const i of idx) s = ceehUpdateShortest(s, trajs[i]!.completionTokenIds.length, trajs[i]!.reward?.correct === true);
      if (s !== null) this.remember(this.shortest, id, s);
    }
    const shaped = trajs.map((t, i) => {
      const acc = batchAcc.get(t.taskId)!;
      const accEma = this.accuracy.get(t.taskId) ?? acc; // a first sighting: no "beats its EMA" yet
      return ceehLengthReward(rewards[i]!, {
        length: t.completionTokenIds.length, shortest: this.shortest.get(t.taskId) ?? null, correct: t.reward?.correct === true, acc, accEma,
      }, beta);
    });
    for (const [id, acc] of batchAcc) {
      const prev = this.accuracy.get(id);
      this.remember(this.accuracy, id, prev === undefined ? acc : ceehUpdateAccuracy(prev, acc));
    }
    return shaped;
  }

  export(): QuestionDifficultyState {
    return { accuracy: Object.fromEntries(this.accuracy), shortest: Object.fromEntries(this.shortest) };
  }

  import(state: QuestionDifficultyState | undefined): void {
    this.accuracy.clear();
    this.shortest.clear();
    for (const [id, v] of Object.entries(state?.accuracy ?? {})) if (Number.isFinite(v)) this.accuracy.set(id, v);
    for (const [id, v] of Object.entries(state?.shortest ?? {})) if (Number.isFinite(v)) this.shortest.set(id, v);
  }

  private remember(map: Map<string, number>, id: string, v: number): void {
    map.delete(id);
    map.set(id, v);
    if (map.size > MAX_QUESTIONS) map.delete(map.keys().next().value!);
  }
}
