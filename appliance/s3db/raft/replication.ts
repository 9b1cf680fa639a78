// Replication rules as pure functions over the log: conflict hints and the commit rule.
import type { NodeId } from './types.ts';
import type { RaftLog } from './log.ts';
import { quorumMatchIndex } from './progress.ts';

/**
 * Follower: the leader's append at (prevIndex, prevTerm) did not match. Hint the last index whose term is <= the
 * leader's prev term, so the leader can skip a whole conflicting term per round trip instead of one entry.
 */
export function rejectHint(
  log: RaftLog,
  prevIndex: number,
  prevTerm: number,
): { index: number; term: number } {
  const index = log.findConflictByTerm(Math.min(prevIndex, log.lastIndex()), prevTerm);
  return { index, term: log.term(index) ?? 0 };
}

/** Leader: where to probe next after a rejection carrying the follower's hint (index, term). */
export function nextProbeIndex(log: RaftLog, hintIndex: number, hintTerm: number): number {
  return hintTerm > 0 ? log.findConflictByTerm(hintIndex, hintTerm) : hintIndex;
}

/**
 * Leader: the new commit index, or undefined. The highest index stored on a quorum is committed only if its entry is
 * from the current term (Raft §5.4.2); earlier entries then commit with it.
 */
export function commitIndex(
  log: RaftLog,
  term: number,
  voters: NodeId[],
  matchOf: (id: NodeId) => number,
): number | undefined {
  if (voters.length === 0) return undefined;
  const mci = quorumMatchIndex(voters.map(matchOf));
  return mci > log.committed && log.term(mci) === term ? mci : undefined;
}
