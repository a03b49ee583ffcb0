// Training modes: which objectives fit each, the default objective, and whether a teacher is needed.
export const RUN_MODES = ['opd', 'rlvr', 'opd+rlvr', 'sft', 'dagger', 'kl-mix', 'pw-opsd'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export interface ModeRule {
  summary: string;
  needsTeacher: boolean;
  /** Verifier rewards drive the update (RL modes): reward shaping and batch filters apply. */
  usesRewards: boolean;
  defaultObjective: { name: string; params: Record<string, unknown> };
  objectives: readonly string[];
  /** Extra check on the objective's validated params; returns a problem `[param, message]` or null. */
  checkParams?: (objective: string, params: Record<string, unknown>) => [string, string] | null;
}

const PG = ['grpo', 'dapo', 'bnpo', 'dr-grpo'];

export const MODES: Readonly<Record<RunMode, ModeRule>> = {
  opd: {
    summary: 'on-policy distillation: student samples, teacher scores every token',
    needsTeacher: true,
    usesRewards: false,
    defaultObjective: { name: 'opd-reverse-kl', params: {} },
    objectives: ['opd-reverse-kl', 'reverse-kl', 'gkd-jsd', 'kl-mix', 'forward-kl'],
  },
  rlvr: {
    summary: 'RL with verifiable rewards (GRPO family, DRPO); no teacher',
    needsTeacher: false,
    usesRewards: true,
    defaultObjective: { name: 'grpo', params: {} },
    objectives: [...PG, 'drpo'],
  },
  'opd+rlvr': {
    summary: 'verifier reward plus the OPD per-token teacher term in one advantage',
    needsTeacher: true,
    usesRewards: true,
    defaultObjective: { name: 'opd-reverse-kl', params: { with_env_reward: true } },
    objectives: ['opd-reverse-kl', ...PG],
    checkParams: (name, p) => {
      if (name === 'opd-reverse-kl' && p.with_env_reward !== true) return ['with_env_reward', 'must be true in mode "opd+rlvr" (adds the verifier reward)'];
      if (PG.includes(name) && !(Number(p.opd_kl_coef) > 0)) return ['opd_kl_coef', 'must be > 0 in mode "opd+rlvr" (adds the teacher term)'];
      return null;
    },
  },
  sft: {
    summary: 'off-policy SFT on teacher prefixes (forward KL to soft teacher targets)',
    needsTeacher: true,
    usesRewards: false,
    defaultObjective: { name: 'forward-kl', params: { prefix_source: 'teacher' } },
    objectives: ['forward-kl'],
    checkParams: (_n, p) => (p.prefix_source !== 'teacher' ? ['prefix_source', 'must be "teacher" in mode "sft" (student prefixes are mode "dagger")'] : null),
  },
  dagger: {
    summary: 'DAgger-style on-policy SFT: forward KL on student prefixes',
    needsTeacher: true,
    usesRewards: false,
    defaultObjective: { name: 'forward-kl', params: { prefix_source: 'student' } },
    objectives: ['forward-kl'],
    checkParams: (_n, p) => (p.prefix_source !== 'student' ? ['prefix_source', 'must be "student" in mode "dagger" (teacher prefixes are mode "sft")'] : null),
  },
  'kl-mix': {
    summary: 'lambda * reverse + (1 - lambda) * forward KL on student or teacher prefixes',
    needsTeacher: true,
    usesRewards: false,
    defaultObjective: { name: 'kl-mix', params: {} },
    objectives: ['kl-mix'],
  },
  'pw-opsd': {
    summary: 'position-weighted on-policy self-distillation (teacher = the student with privileged context)',
    needsTeacher: true,
    usesRewards: false,
    defaultObjective: { name: 'pw-opsd', params: {} },
    objectives: ['pw-opsd'],
  },
};

/** The mode names, comma-separated, for messages. */
export function modeNames(): string {
  return RUN_MODES.join(', ');
}
