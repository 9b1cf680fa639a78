import type { NodeId } from './raft/types.ts';
import { formatHostPort } from '../../shared/net/host-port.ts';

/** Where a member listens (bind) and how others reach it (advertise). */
export interface S3dbMember {
  id: NodeId;
  /** Bind address (may be 0.0.0.0). */
  host: string;
  /** HTTPS REST API port. */
  port: number;
  /** Raft transport port (spec default: port + 1000). */
  raftPort: number;
  /** Address the other members and clients use (spec §15). */
  advertiseHost: string;
}

/** Internal table holding members added through /v1/join (key: 4-byte big-endian id, value: JSON). */
export const MEMBERS_TABLE = '_members';

export function memberKey(id: NodeId): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, id);
  return k;
}

export function encodeMember(m: S3dbMember): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(m)));
}

export function decodeMember(value: Uint8Array): S3dbMember | undefined {
  try {
    const m = JSON.parse(Buffer.from(value).toString('utf8')) as S3dbMember;
    if (typeof m.id === 'number' && typeof m.advertiseHost === 'string' && typeof m.port === 'number')
      return m;
  } catch {
    // fall through
  }
  return undefined;
}

/** Member addresses: the configured ones, overlaid by those that joined at run time. */
export class MemberDirectory {
  private readonly byId = new Map<NodeId, S3dbMember>();

  constructor(configured: readonly S3dbMember[]) {
    for (const m of configured) this.byId.set(m.id, m);
  }

  set(m: S3dbMember): void {
    this.byId.set(m.id, m);
  }

  get(id: NodeId): S3dbMember | undefined {
    return this.byId.get(id);
  }

  all(): S3dbMember[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  httpAddress(id: NodeId): string | undefined {
    const m = this.byId.get(id);
    return m ? formatHostPort(m.advertiseHost, m.port) : undefined;
  }

  raftAddress(id: NodeId): { host: string; port: number } | undefined {
    const m = this.byId.get(id);
    return m ? { host: m.advertiseHost, port: m.raftPort } : undefined;
  }
}
