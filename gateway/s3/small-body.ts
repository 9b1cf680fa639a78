// Small request bodies (XML documents) read whole, with a size bound, and Content-Length parsing.
import { MalformedXML } from '../errors.ts';

/** The body as UTF-8 text; MalformedXML once it passes `limit` bytes (nothing more is read). */
export async function readSmallBody(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw MalformedXML(`the request body is larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A Content-Length header's value as a number; undefined when absent or not a plain integer. */
export function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}
