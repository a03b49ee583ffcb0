import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minPolicyVersionFor } from '../../../src/curriculum/index.ts';

/** minPolicyVersionFor with a learner at v10, batches of 4 groups, max_staleness 1 and weights every version, unless told. */
const minVersion = (over: Partial<Parameters<typeof minPolicyVersionFor>[0]>) =>
  minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 0, groupsPerStep: 4, maxStaleness: 1, publishEvery: 1, ...over });

test('a group with nothing ahead may be sampled max_staleness versions back', () => {
  assert.equal(minVersion({}), 9);
  assert.equal(minVersion({ groupsAhead: 3, maxStaleness: 2 }), 8);
});

test('a group queued behind a full batch is trained a step later, so it needs a newer policy', () => {
  // 4 groups ahead = one batch: trained at version 11, so sampled with >= 10 (the current one)
  assert.equal(minVersion({ groupsAhead: 4 }), 10);
  assert.equal(minVersion({ groupsAhead: 7 }), 10);
  assert.equal(minVersion({ groupsAhead: 8, maxStaleness: 2 }), 10);
  // two batches ahead: trained at version 12, so sampled with >= 8 (one step more or less would give 7 or 9)
  assert.equal(minVersion({ groupsAhead: 8, maxStaleness: 4 }), 8);
});

test('never asks for a version the learner has not published, never below 0', () => {
  assert.equal(minVersion({ groupsAhead: 12, maxStaleness: 0 }), 10);
  assert.equal(minVersion({ learnerVersion: 0, maxStaleness: 3 }), 0);
  assert.equal(minVersion({ learnerVersion: 1, groupsAhead: 2, groupsPerStep: 0 }), 1);
});

test('with weights announced every k versions, never waits for a version that was not announced', () => {
  // learner at 10, announcing every 4: the newest served version is 8
  assert.equal(minVersion({ groupsAhead: 8, publishEvery: 4 }), 8);
  assert.equal(minVersion({ publishEvery: 4 }), 8);
  assert.equal(minVersion({ maxStaleness: 5, publishEvery: 4 }), 5);
});
