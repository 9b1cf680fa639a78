import { ByteReader as SharedByteReader } from '../../shared/bytes/index.ts';
import { S3dbError } from './errors.ts';

export { ByteWriter } from '../../shared/bytes/index.ts';

/** The shared reader, failing with s3db's InvalidCommand error. */
export class ByteReader extends SharedByteReader {
  constructor(buf: Uint8Array) {
    super(buf, (message) => new S3dbError('InvalidCommand', message));
  }
}
