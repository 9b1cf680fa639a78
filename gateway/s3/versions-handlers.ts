// HTTP side of ListObjectVersions, GetBucketVersioning and PutBucketVersioning.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import type { OperationContext } from '../ops/context.ts';
import { getBucketVersioning, listObjectVersions, putBucketVersioning } from '../ops/versions.ts';
import { readVerifiedXml } from './checksum-body.ts';
import type { ResolvedRequest } from './route.ts';
import { listVersionsXml, parseListVersionsParams, versioningXml } from './versions.ts';

export type VersionsOperation = 'ListObjectVersions' | 'GetBucketVersioning' | 'PutBucketVersioning';

export async function dispatchVersions(
  operation: VersionsOperation,
  ctx: OperationContext,
  resolved: ResolvedRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: GatewayAuth,
  authRequest: AuthRequest,
): Promise<unknown> {
  const bucket = resolved.bucket as string;
  switch (operation) {
    case 'ListObjectVersions': {
      const doc = await listObjectVersions(ctx, bucket, parseListVersionsParams(resolved.query));
      return reply.type('application/xml').send(listVersionsXml(doc));
    }
    case 'GetBucketVersioning':
      return reply.type('application/xml').send(versioningXml(await getBucketVersioning(ctx, bucket)));
    case 'PutBucketVersioning': {
      const text = await readVerifiedXml(ctx, request, auth, authRequest);
      await putBucketVersioning(ctx, bucket, text);
      return reply.send();
    }
  }
}
