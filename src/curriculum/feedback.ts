// The curriculum's view of a learner's per-group feedback, shared by the in-process loop and the run controller.
import type { CurriculumFeedback } from './types.ts';

/** The fields of a learner's per-group TaskFeedback message the curriculum reads (structural: no wire import). */
export interface GroupFeedback {
  category: string; difficulty: number; dispatchIndex: number; taskId: string; step: number;
  samples: number; passRate: number; meanAbsAdvantage: number; meanReward: number;
}

/** What the curriculum learns from one group's feedback (the in-process loop and the run controller alike). */
export function curriculumFeedback(f: GroupFeedback): CurriculumFeedback {
  return {
    category: f.category, difficulty: f.difficulty, index: f.dispatchIndex, taskId: f.taskId, step: f.step,
    samples: f.samples, passRate: f.passRate, meanAbsAdvantage: f.meanAbsAdvantage, meanReward: f.meanReward,
  };
}
