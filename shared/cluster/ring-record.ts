// The cluster's ring record in s3db (pure codec + planning): which appliances take part in placement
// (active), which are being emptied (draining) or are gone (removed), the epoch every placement is
// recorded with, the virtual node count, and the RS scheme new objects use once one was set.
import { z } from 'zod';
import { HashRing } from '../ring/index.ts';
import { validateScheme } from '../erasure/index.ts';
import type { RsScheme } from '../erasure/index.ts';

export const RING_FORMAT = 1;

export type RingChangeErrorCode =
  | 'UNKNOWN_NODE'
  | 'ALREADY_MEMBER'
  | 'NOT_ACTIVE'
  | 'NOT_DRAINING'
  | 'TOO_FEW_NODES'
  | 'BAD_SCHEME'
  | 'NO_CHANGE'
  | 'CONFLICT'
  | 'BAD_RECORD';

/** A ring change that cannot be made (or a ring record that cannot be read); `code` is stable. */
export class RingChangeError extends Error {
  constructor(
    readonly code: RingChangeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RingChangeError';
  }
}

const nodeSchema = z.object({
  id: z.string().min(1),
  state: z.enum(['active', 'draining', 'removed']),
  /** When the node entered this state (ms). */
  since: z.number().int().nonnegative(),
});

const ringSchema = z.object({
  v: z.literal(RING_FORMAT),
  epoch: z.number().int().nonnegative(),
  vnodes: z.number().int().min(1).max(4096),
  nodes: z.array(nodeSchema).min(1),
  /** Scheme of new objects; absent = each gateway's config `[rs]` (until a migrate-rs sets one). */
  rs: z.object({ k: z.number().int().min(1).max(24), m: z.number().int().min(1).max(6) }).optional(),
  updated: z.number().int().nonnegative(),
});

export type RingNode = z.infer<typeof nodeSchema>;
export type RingNodeState = RingNode['state'];
export type RingRecord = z.infer<typeof ringSchema>;

export function encodeRingRecord(record: RingRecord): Uint8Array {
  return Buffer.from(JSON.stringify(checkRingRecord(record)), 'utf8');
}

export function decodeRingRecord(bytes: Uint8Array): RingRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new RingChangeError('BAD_RECORD', 'ring record is not valid JSON', { cause: error });
  }
  const result = ringSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RingChangeError(
      'BAD_RECORD',
      `ring record is invalid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`,
    );
  }
  return checkRingRecord(result.data);
}

function checkRingRecord(record: RingRecord): RingRecord {
  const seen = new Set<string>();
  for (const node of record.nodes) {
    if (seen.has(node.id)) throw new RingChangeError('BAD_RECORD', `ring record lists node ${node.id} twice`);
    seen.add(node.id);
  }
  if (activeNodes(record).length === 0)
    throw new RingChangeError('BAD_RECORD', 'ring record has no active node');
  return record;
}

/** Ids of the nodes new chunks are placed on. */
export function activeNodes(record: RingRecord): string[] {
  return record.nodes.filter((n) => n.state === 'active').map((n) => n.id);
}

export function nodesIn(record: RingRecord, state: RingNodeState): string[] {
  return record.nodes.filter((n) => n.state === state).map((n) => n.id);
}

/** The placement ring of the record: its active nodes at its epoch. */
export function placementRing(record: RingRecord): HashRing {
  return new HashRing({ nodes: activeNodes(record), epoch: record.epoch, vnodesPerNode: record.vnodes });
}

/** Scheme new objects get: the record's, else the caller's default (the config's `[rs]`). */
export function writeScheme(record: RingRecord, fallback: RsScheme): RsScheme {
  return record.rs ?? fallback;
}

/** The first ring: every configured appliance active, epoch 0 (what placements before rings recorded). */
export function initialRing(nodeIds: readonly string[], vnodes: number, now = Date.now()): RingRecord {
  return checkRingRecord({
    v: RING_FORMAT,
    epoch: 0,
    vnodes,
    nodes: [...new Set(nodeIds)].sort().map((id) => ({ id, state: 'active' as const, since: now })),
    updated: now,
  });
}

export type RingChange =
  /** Make these appliances active (new ones, or draining ones taken back). */
  | { kind: 'add'; nodes: readonly string[] }
  /** Stop placing on `node`; the drain job then moves its shards off. */
  | { kind: 'drain'; node: string }
  /** `node` holds nothing any more (only a draining node can be removed). */
  | { kind: 'remove'; node: string }
  /** New objects use RS(k, m). */
  | { kind: 'set-rs'; k: number; m: number };

/**
 * The record after `change` (pure). The epoch goes up whenever the set of active nodes changes, so
 * placements made with different node sets never share an epoch. `fallbackRs` is the scheme in force
 * when the record names none; every change keeps k + m ≤ active nodes.
 */
export function planRingChange(
  current: RingRecord,
  change: RingChange,
  fallbackRs: RsScheme,
  now = Date.now(),
): RingRecord {
  const byId = new Map(current.nodes.map((n) => [n.id, n]));
  let nodes = current.nodes.map((n) => ({ ...n }));
  let rs = current.rs;
  const setState = (id: string, state: RingNodeState): void => {
    nodes = nodes.map((n) => (n.id === id ? { id, state, since: now } : n));
  };
  switch (change.kind) {
    case 'add': {
      if (change.nodes.length === 0) throw new RingChangeError('NO_CHANGE', 'no node to add');
      for (const id of new Set(change.nodes)) {
        if (id.length === 0) throw new RingChangeError('UNKNOWN_NODE', 'node ids must be non-empty');
        const known = byId.get(id);
        if (known?.state === 'active')
          throw new RingChangeError('ALREADY_MEMBER', `node ${id} is already active`);
        if (known === undefined) nodes.push({ id, state: 'active', since: now });
        else setState(id, 'active');
      }
      nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      break;
    }
    case 'drain': {
      const known = byId.get(change.node);
      if (known === undefined)
        throw new RingChangeError('UNKNOWN_NODE', `node ${change.node} is not in the ring`);
      if (known.state !== 'active')
        throw new RingChangeError('NOT_ACTIVE', `node ${change.node} is ${known.state}, not active`);
      setState(change.node, 'draining');
      break;
    }
    case 'remove': {
      const known = byId.get(change.node);
      if (known === undefined)
        throw new RingChangeError('UNKNOWN_NODE', `node ${change.node} is not in the ring`);
      if (known.state !== 'draining')
        throw new RingChangeError('NOT_DRAINING', `node ${change.node} is ${known.state}; drain it first`);
      setState(change.node, 'removed');
      break;
    }
    case 'set-rs': {
      try {
        validateScheme({ k: change.k, m: change.m });
      } catch (error) {
        throw new RingChangeError('BAD_SCHEME', (error as Error).message, { cause: error });
      }
      rs = { k: change.k, m: change.m };
      break;
    }
  }
  const next: RingRecord = { ...current, nodes, updated: now };
  if (rs !== undefined) next.rs = rs;
  const before = activeNodes(current).join('\n');
  const after = activeNodes(next);
  if (after.join('\n') !== before) next.epoch = current.epoch + 1;
  const scheme = writeScheme(next, fallbackRs);
  if (scheme.k + scheme.m > after.length)
    throw new RingChangeError(
      'TOO_FEW_NODES',
      `RS(${scheme.k},${scheme.m}) places each chunk on ${scheme.k + scheme.m} nodes; the ring would have ${after.length} active`,
    );
  return checkRingRecord(next);
}
