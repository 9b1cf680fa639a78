import type { NodeId } from './types.ts';

/** Base class of every error the Raft core throws on bad input or a refused request. */
export class RaftError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RaftError';
    this.code = code;
  }
}

/** The request needs the leader. `leaderId` is the known leader (0 when unknown) to forward or redirect to. */
export class NotLeaderError extends RaftError {
  readonly leaderId: NodeId;
  constructor(leaderId: NodeId) {
    super(
      'NOT_LEADER',
      leaderId === 0 ? 'not the leader; no leader known' : `not the leader; leader is ${leaderId}`,
    );
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
  }
}

/** The leader refused the proposal for now (leadership transfer in progress, or it was removed). Retry later. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super('PROPOSAL_DROPPED', `proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}

/** Only one configuration change may be pending (proposed but not applied) at a time. */
export class ConfChangeInProgressError extends RaftError {
  constructor(pendingIndex: number) {
    super('CONF_CHANGE_IN_PROGRESS', `a configuration change at index ${pendingIndex} is not applied yet`);
    this.name = 'ConfChangeInProgressError';
  }
}

/** Invalid argument or a call that breaks the driver contract (e.g. ready() twice without advance). */
export class RaftUsageError extends RaftError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'RaftUsageError';
  }
}

/** Bytes that are not a valid encoded message / conf change. */
export class RaftCodecError extends RaftError {
  constructor(message: string) {
    super('CODEC', message);
    this.name = 'RaftCodecError';
  }
}
