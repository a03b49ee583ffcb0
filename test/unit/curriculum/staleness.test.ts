import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minPolicyVersionFor } from '../../../src/curriculum/index.ts';

test('a group with nothing ahead may be sampled max_staleness versions back', () => {
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 0, groupsPerStep: 4, maxStaleness: 1, publishEvery: 1 }), 9);
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 3, groupsPerStep: 4, maxStaleness: 2, publishEvery: 1 }), 8);
});

test('a group queued behind a full batch is trained a step later, so it needs a newer policy', () => {
  // 4 groups ahead = one batch: trained at version 11, so sampled with >= 10 (the current one)
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 4, groupsPerStep: 4, maxStaleness: 1, publishEvery: 1 }), 10);
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 7, groupsPerStep: 4, maxStaleness: 1, publishEvery: 1 }), 10);
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 8, groupsPerStep: 4, maxStaleness: 2, publishEvery: 1 }), 10);
  // two batches ahead: trained at version 12, so sampled with >= 8 (one step more or less would give 7 or 9)
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 8, groupsPerStep: 4, maxStaleness: 4, publishEvery: 1 }), 8);
});

test('never asks for a version the learner has not published, never below 0', () => {
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 12, groupsPerStep: 4, maxStaleness: 0, publishEvery: 1 }), 10);
  assert.equal(minPolicyVersionFor({ learnerVersion: 0, groupsAhead: 0, groupsPerStep: 4, maxStaleness: 3, publishEvery: 1 }), 0);
  assert.equal(minPolicyVersionFor({ learnerVersion: 1, groupsAhead: 2, groupsPerStep: 0, maxStaleness: 1, publishEvery: 1 }), 1);
});

test('with weights announced every k versions, never waits for a version that was not announced', () => {
  // learner at 10, announcing every 4: the newest served version is 8
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 8, groupsPerStep: 4, maxStaleness: 1, publishEvery: 4 }), 8);
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 0, groupsPerStep: 4, maxStaleness: 1, publishEvery: 4 }), 8);
  assert.equal(minPolicyVersionFor({ learnerVersion: 10, groupsAhead: 0, groupsPerStep: 4, maxStaleness: 5, publishEvery: 4 }), 5);
});
