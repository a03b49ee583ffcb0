// Who writes a group's completions, the prefixes a distillation objective learns on (ALGORITHMS.md 1b, 2): the student
// (on-policy), the teacher (mode sft: forward KL on teacher samples; GKD with seq_kd) or the dataset (GKD's off-policy
// share: the task's reference solution). Decided per group from its id, so every process that sees the group agrees,
// and a group's samples come from one source.
import { hash32 } from '../tasks/random.ts';
import { gkdDataSource } from './distillation.ts';

export type PrefixSource = 'student' | 'teacher' | 'dataset';

export interface ObjectiveChoice {
  name: string;
  params: Record<string, unknown>;
}

/** A number in [0, 1) from a string (the task generator's hash32): the same group id gives the same draw everywhere. */
export function unitHash(s: string): number {
  return hash32(s) / 2 ** 32;
}

export function prefixSourceFor(objective: ObjectiveChoice, groupId: string): PrefixSource {
  if (objective.name === 'gkd-jsd') {
    // GKD: with probability lmbda fresh student samples, otherwise dataset completions (teacher samples with seq_kd)
    return gkdDataSource({ lmbda: Number(objective.params.lmbda ?? 1), seq_kd: objective.params.seq_kd === true }, unitHash(groupId));
  }
  return objective.params.prefix_source === 'teacher' ? 'teacher' : 'student';
}

/** Whether any group of the run is sampled by the teacher (rollout workers then load the teacher's weights too). */
export function usesTeacherPrefixes(objective: ObjectiveChoice): boolean {
  if (objective.name === 'gkd-jsd') return objective.params.seq_kd === true && Number(objective.params.lmbda ?? 1) < 1;
  return objective.params.prefix_source === 'teacher';
}
