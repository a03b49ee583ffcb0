// Which policy version a dispatched group must be sampled with so the learner can still train it.
//
// The learner drops a trajectory sampled more than `max_staleness` versions before the version it trains at, and a
// group is trained after the groups already in flight ahead of it: with `groupsAhead` open groups and
// `groupsPerStep` groups per learner batch, that is about floor(groupsAhead / groupsPerStep) steps after the learner's
// current version. Asking the rollout worker for at least (that version - max_staleness) makes it wait for the
// newer weights instead of sampling a group the learner would throw away (AReaL bounds staleness at admission the
// same way). Pure arithmetic next to the curriculum that picks the task (the learner's drop rule is Learner.partition); the
// gateway's controller supplies the counts.

export interface StalenessInputs {
  /** the learner's latest announced policy version */
  learnerVersion: number;
  /** groups dispatched and not yet closed, not counting the one being dispatched */
  groupsAhead: number;
  /** groups in one learner batch (CompiledRunConfig.groupsPerStep) */
  groupsPerStep: number;
  maxStaleness: number;
  /** the learner announces weights every this many versions (learner.publish_every, >= 1) */
  publishEvery: number;
}

/**
 * The oldest policy version the group may be sampled with: >= 0, and never above the newest version the learner has
 * announced (a rollout worker waiting for a later one would hold its group until the wait times out).
 */
export function minPolicyVersionFor(i: StalenessInputs): number {
  const stepsAhead = Math.floor(i.groupsAhead / i.groupsPerStep);
  const announced = Math.floor(i.learnerVersion / i.publishEvery) * i.publishEvery;
  return Math.max(0, Math.min(announced, i.learnerVersion + stepsAhead - i.maxStaleness));
}
