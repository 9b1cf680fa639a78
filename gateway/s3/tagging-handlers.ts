// HTTP side of Get/Put/DeleteObjectTagging.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import type { OperationContext } from '../ops/context.ts';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from '../ops/tagging.ts';
import { readVerifiedXml } from './checksum-body.ts';
import type { ResolvedRequest } from './route.ts';
import { taggingXml } from './tagging.ts';
import { checkVersionId, NULL_VERSION } from './versions.ts';

export type TaggingOperation = 'GetObjectTagging' | 'PutObjectTagging' | 'DeleteObjectTagging';

/** Largest Tagging document: 10 tags of 128 + 256 characters fit many times over. */
const MAX_TAGGING_BODY = 64 * 1024;

export async function dispatchTagging(
  operation: TaggingOperation,
  ctx: OperationContext,
  resolved: ResolvedRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: GatewayAuth,
  authRequest: AuthRequest,
): Promise<unknown> {
  const bucket = resolved.bucket as string;
  const key = resolved.key as string;
  checkVersionId(resolved.query, key);
  if (resolved.query.versionId !== undefined) reply.header('x-amz-version-id', NULL_VERSION);
  switch (operation) {
    case 'GetObjectTagging':
      return reply.type('application/xml').send(taggingXml(await getObjectTagging(ctx, bucket, key)));
    case 'PutObjectTagging': {
      const text = await readVerifiedXml(ctx, request, auth, authRequest, { limit: MAX_TAGGING_BODY });
      await putObjectTagging(ctx, bucket, key, text);
      return reply.send();
    }
    case 'DeleteObjectTagging':
      await deleteObjectTagging(ctx, bucket, key);
      return reply.code(204).send();
  }
}
