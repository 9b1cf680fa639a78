import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  grantsVote,
  ignoresCampaign,
  randomizedElectionTimeout,
  tallyVotes,
} from '../../../appliance/s3db/raft/election.ts';
import type { VoteMessage } from '../../../appliance/s3db/raft/types.ts';

const req = (type: 'vote' | 'preVote', from: number, term: number): VoteMessage => ({
  type,
  from,
  to: 1,
  term,
  index: 5,
  logTerm: 2,
  transfer: false,
});

test('randomized timeout stays in [electionTick, 2*electionTick) and rejects a broken PRNG', () => {
  assert.equal(
    randomizedElectionTimeout(10, () => 0),
    10,
  );
  assert.equal(
    randomizedElectionTimeout(10, () => 0.9999),
    19,
  );
  assert.throws(() => randomizedElectionTimeout(10, () => 1), RangeError);
  assert.throws(() => randomizedElectionTimeout(10, () => Number.NaN), RangeError);
});

test('leader lease: campaigns are ignored while a leader was heard recently, except transfers', () => {
  assert.ok(ignoresCampaign(true, 2, 3, 10, false));
  assert.ok(!ignoresCampaign(true, 2, 3, 10, true), 'transfer');
  assert.ok(!ignoresCampaign(true, 2, 10, 10, false), 'lease expired');
  assert.ok(!ignoresCampaign(true, 0, 3, 10, false), 'no leader');
  assert.ok(!ignoresCampaign(false, 2, 3, 10, false), 'check-quorum off');
});

test('one vote per term; pre-votes for a future term may go to anyone up to date', () => {
  const fresh = { term: 5, vote: 0, leader: 0 };
  assert.ok(grantsVote(fresh, req('vote', 3, 5), true));
  assert.ok(!grantsVote(fresh, req('vote', 3, 5), false), 'candidate log behind');
  const voted = { term: 5, vote: 2, leader: 0 };
  assert.ok(!grantsVote(voted, req('vote', 3, 5), true), 'already voted for 2');
  assert.ok(grantsVote(voted, req('vote', 2, 5), true), 'repeat request from the same candidate');
  const following = { term: 5, vote: 0, leader: 2 };
  assert.ok(!grantsVote(following, req('vote', 3, 5), true), 'has a leader this term');
  assert.ok(grantsVote(voted, req('preVote', 3, 6), true), 'pre-vote for a future term');
  assert.ok(!grantsVote(voted, req('preVote', 3, 5), true), 'pre-vote for the current term, vote taken');
});

test('vote tally: won, lost, pending; votes from non-voters do not count', () => {
  const votes = new Map<number, boolean>([[1, true]]);
  assert.equal(tallyVotes([1, 2, 3], votes), 'pending');
  votes.set(9, true);
  assert.equal(tallyVotes([1, 2, 3], votes), 'pending');
  votes.set(2, true);
  assert.equal(tallyVotes([1, 2, 3], votes), 'won');
  assert.equal(
    tallyVotes(
      [1, 2, 3],
      new Map([
        [2, false],
        [3, false],
      ]),
    ),
    'lost',
  );
  const twoNo = new Map([
    [2, false],
    [3, false],
  ]);
  assert.equal(tallyVotes([1, 2, 3, 4], twoNo), 'lost', '2 of 4 rejected: a quorum of 3 is out of reach');
  assert.equal(tallyVotes([1, 2, 3, 4, 5], twoNo), 'pending', '2 of 5 rejected: 3 may still grant');
});
