// Multipart upload and copy against the distributed backend (cluster.ts: 3 s3db + 5 appliances, RS(3,2)).
// MULTIPART_BIG=1 keeps production chunks (32 MiB) and copies a 33 MiB object.
import { startDistributedTarget } from './cluster.ts';
import { defineMultipartSuite } from './multipart-behaviour.ts';

defineMultipartSuite('distributed', () => startDistributedTarget({ big: process.env.MULTIPART_BIG === '1' }));
