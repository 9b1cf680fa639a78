import { z } from 'zod';
import { BatchBodyError, decodeBatchBody } from '../../../shared/s3db-client/batch-body.ts';
import type { Command } from '../command.ts';
import { validateCommand } from '../command.ts';
import { S3dbError } from '../errors.ts';
import { parseHex } from '../keys.ts';

const hexKey = z.string().min(2);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

const precondition = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('absent'), table: z.string(), key: hexKey }),
  z.object({ kind: z.literal('exists'), table: z.string(), key: hexKey }),
  z.object({ kind: z.literal('valueEquals'), table: z.string(), key: hexKey, value: base64 }),
  z.object({
    kind: z.literal('versionEquals'),
    table: z.string(),
    key: hexKey,
    version: z.number().int().nonnegative(),
  }),
]);

const op = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('put'), table: z.string(), key: hexKey, value: base64 }),
  z.object({ kind: z.literal('delete'), table: z.string(), key: hexKey }),
]);

const batchBody = z.object({
  preconditions: z.array(precondition).default([]),
  ops: z.array(op).default([]),
});

const joinBody = z.object({
  id: z.number().int().positive(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  raftPort: z.number().int().min(1).max(65535),
});

export type JoinRequest = z.infer<typeof joinBody>;

const removeBody = z.object({ id: z.number().int().positive() });
export type RemoveRequest = z.infer<typeof removeBody>;

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new S3dbError('InvalidRequest', 'body is not valid JSON');
  }
}

function schemaError(err: z.ZodError): S3dbError {
  const first = err.issues[0];
  return new S3dbError(
    'InvalidRequest',
    `invalid body at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`,
  );
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function internalTableCheck(table: string): void {
  if (table.startsWith('_'))
    throw new S3dbError('InvalidTable', `tables starting with "_" are internal: ${table}`);
}

/** JSON batch body → validated batch command (keys hex, values base64). */
export function parseBatchBody(body: Uint8Array): Command {
  const parsed = batchBody.safeParse(parseJson(body));
  if (!parsed.success) throw schemaError(parsed.error);
  const { preconditions, ops } = parsed.data;
  const cmd: Command = {
    type: 'batch',
    preconditions: preconditions.map((p) => {
      internalTableCheck(p.table);
      const key = parseHex(p.key);
      if (p.kind === 'valueEquals') return { kind: p.kind, table: p.table, key, value: b64(p.value) };
      if (p.kind === 'versionEquals') return { kind: p.kind, table: p.table, key, version: p.version };
      return { kind: p.kind, table: p.table, key };
    }),
    ops: ops.map((o) => {
      internalTableCheck(o.table);
      const key = parseHex(o.key);
      return o.kind === 'put'
        ? { kind: 'put', table: o.table, key, value: b64(o.value) }
        : { kind: 'delete', table: o.table, key };
    }),
  };
  validateCommand(cmd);
  return cmd;
}

/** Binary batch body (`application/x-s3db-batch`, shared/s3db-client/batch-body.ts) → validated batch command. */
export function parseBinaryBatchBody(body: Uint8Array): Command {
  let batch;
  try {
    batch = decodeBatchBody(body);
  } catch (err) {
    if (err instanceof BatchBodyError) throw new S3dbError('InvalidRequest', err.message);
    throw err;
  }
  for (const p of batch.preconditions) internalTableCheck(p.table);
  for (const o of batch.ops) internalTableCheck(o.table);
  const cmd: Command = { type: 'batch', preconditions: batch.preconditions, ops: batch.ops };
  validateCommand(cmd);
  return cmd;
}

export function parseJoinBody(body: Uint8Array): JoinRequest {
  const parsed = joinBody.safeParse(parseJson(body));
  if (!parsed.success) throw schemaError(parsed.error);
  return parsed.data;
}

export function parseRemoveBody(body: Uint8Array): RemoveRequest {
  const parsed = removeBody.safeParse(parseJson(body));
  if (!parsed.success) throw schemaError(parsed.error);
  return parsed.data;
}
