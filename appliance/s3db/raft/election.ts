// Election rules as pure functions: timeouts, leases, vote granting and counting.
import type { NodeId, VoteMessage } from './types.ts';
import { NONE } from './types.ts';
import { quorum } from './progress.ts';

/** A timeout in [electionTick, 2*electionTick): spreads candidates out so split votes are rare. */
export function randomizedElectionTimeout(electionTick: number, random: () => number): number {
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${r}`);
  return electionTick + Math.floor(r * electionTick);
}

/**
 * Leader lease (check-quorum): a node that heard from a leader within the election timeout ignores campaigns
 * for a higher term, unless the campaign comes from a leadership transfer.
 */
export function ignoresCampaign(
  checkQuorum: boolean,
  leader: NodeId,
  electionElapsed: number,
  electionTimeout: number,
  transfer: boolean,
): boolean {
  return !transfer && checkQuorum && leader !== NONE && electionElapsed < electionTimeout;
}

export interface VoterState {
  term: number;
  vote: NodeId;
  leader: NodeId;
}

/**
 * Whether to grant a (pre-)vote, given the voter's state AFTER any term update caused by the request and whether
 * the candidate's log is at least as up to date as ours. A real vote goes to one candidate per term; a pre-vote for a
 * future term may be granted to anyone with an up-to-date log.
 */
export function grantsVote(voter: VoterState, m: VoteMessage, candidateUpToDate: boolean): boolean {
  const canVote =
    voter.vote === m.from ||
    (voter.vote === NONE && voter.leader === NONE) ||
    (m.type === 'preVote' && m.term > voter.term);
  return canVote && candidateUpToDate;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Tally of granted/rejected votes among `voters`. Votes from non-voters are ignored. */
export function tallyVotes(voters: NodeId[], votes: Map<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorum(voters.length);
  if (granted >= q) return 'won';
  if (rejected > voters.length - q) return 'lost';
  return 'pending';
}
