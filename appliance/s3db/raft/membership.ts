// Single-server membership changes carried in 'confChange' log entries, and the voter set they produce.
import type { ConfChange, NodeId } from './types.ts';
import { RaftCodecError } from './errors.ts';

const ADD = 1;
const REMOVE = 2;

/** 1 byte type + 4 bytes node id (big endian). */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = change.type === 'addNode' ? ADD : REMOVE;
  new DataView(out.buffer).setUint32(1, change.nodeId);
  return out;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (bytes.length !== 5) throw new RaftCodecError(`conf change must be 5 bytes, got ${bytes.length}`);
  const kind = bytes[0];
  const nodeId = new DataView(bytes.buffer, bytes.byteOffset, 5).getUint32(1);
  if (nodeId === 0) throw new RaftCodecError('conf change node id 0');
  if (kind === ADD) return { type: 'addNode', nodeId };
  if (kind === REMOVE) return { type: 'removeNode', nodeId };
  throw new RaftCodecError(`unknown conf change type ${kind}`);
}

/** The voter set after applying `change` (sorted; adding a member or removing a non-member changes nothing). */
export function applyConfChange(voters: readonly NodeId[], change: ConfChange): NodeId[] {
  const set = new Set(voters);
  if (change.type === 'addNode') set.add(change.nodeId);
  else set.delete(change.nodeId);
  return [...set].sort((a, b) => a - b);
}

/** Voter sets by the log index at which they took effect, to answer "who were the voters at index i". */
export class ConfHistory {
  private readonly changes: { index: number; voters: NodeId[] }[] = [];

  constructor(index: number, voters: NodeId[]) {
    this.changes.push({ index, voters: voters.slice() });
  }

  record(index: number, voters: NodeId[]): void {
    this.changes.push({ index, voters: voters.slice() });
  }

  votersAt(index: number): NodeId[] {
    let found = this.changes[0]!.voters;
    for (const c of this.changes) {
      if (c.index <= index) found = c.voters;
      else break;
    }
    return found.slice();
  }

  /** Forget changes that a snapshot at `index` already covers (keeping the one in force at `index`). */
  pruneBefore(index: number): void {
    while (this.changes.length > 1 && this.changes[1]!.index <= index) this.changes.shift();
  }

  reset(index: number, voters: NodeId[]): void {
    this.changes.length = 0;
    this.changes.push({ index, voters: voters.slice() });
  }
}
