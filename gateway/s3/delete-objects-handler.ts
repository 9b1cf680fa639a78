// HTTP side of DeleteObjects (POST /bucket?delete).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import type { OperationContext } from '../ops/context.ts';
import { deleteObjects } from '../ops/delete-objects.ts';
import { readVerifiedXml } from './checksum-body.ts';
import { deleteResultXml } from './delete-objects.ts';

/** 1000 keys of up to 1024 bytes, each fully escaped (`&lt;` is 4 bytes per key byte), fit. */
const MAX_DELETE_BODY = 8 * 1024 * 1024;

export async function handleDeleteObjects(
  ctx: OperationContext,
  bucket: string,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: GatewayAuth,
  authRequest: AuthRequest,
): Promise<unknown> {
  const text = await readVerifiedXml(ctx, request, auth, authRequest, {
    requireIntegrity: true,
    limit: MAX_DELETE_BODY,
  });
  const allowed = auth.isAllowed(ctx.identity, 's3:DeleteObject', bucket);
  const { quiet, result } = await deleteObjects(ctx, bucket, text, { allowed });
  return reply.type('application/xml').send(deleteResultXml(result, quiet));
}
