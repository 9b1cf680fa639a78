// Small request bodies (XML documents) read through the auth layer, so Content-MD5, x-amz-checksum-*
// and the payload signature are verified before the document is used.
import type { FastifyRequest } from 'fastify';
import type { AuthRequest, GatewayAuth } from '../auth-contract.ts';
import type { OperationContext } from '../ops/context.ts';
import { requireBodyIntegrity } from './checksum.ts';
import type { HeaderBag } from './headers.ts';
import { readSmallBody } from './small-body.ts';

/** Default largest XML document these operations accept. */
export const MAX_API_XML_BODY = 2 * 1024 * 1024;

export interface ReadXmlOptions {
  limit?: number;
  /** S3 requires Content-MD5 or an x-amz-checksum-* for this operation. */
  requireIntegrity?: boolean;
}

export async function readVerifiedXml(
  ctx: OperationContext,
  request: FastifyRequest,
  auth: GatewayAuth,
  authRequest: AuthRequest,
  options: ReadXmlOptions = {},
): Promise<string> {
  if (options.requireIntegrity === true) requireBodyIntegrity(request.headers as HeaderBag);
  const limit = options.limit ?? MAX_API_XML_BODY;
  const verified = auth.decodeBody(authRequest, ctx.identity, request.raw);
  const text = await readSmallBody(verified.body, limit);
  await verified.verified();
  return text;
}
