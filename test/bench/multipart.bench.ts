// Multipart and copy benchmark (issue #7): a multipart upload of BENCH_MP_MB (default 1024) MiB in
// 8 MiB parts with 4 parts in flight, and a CopyObject of a BENCH_COPY_MB (default 256) MiB object, with
// the pinned AWS SDK. BENCH_BACKEND = filesystem | distributed | both (default both). Filesystem: gateway
// child process. Distributed: 3 s3db + 5 appliances as child processes, RS(3,2), production geometry,
// gateway in this process. Prints `BENCH <name> <value> <unit>`.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ACCOUNTS, spawnFilesystemGateway } from '../integration/gateway/harness.ts';
import { startDistributedTarget } from '../integration/multipart/cluster.ts';

const MiB = 1024 * 1024;
const backendChoice = process.env.BENCH_BACKEND ?? 'both';
const uploadMb = Number(process.env.BENCH_MP_MB ?? 1024);
const copyMb = Number(process.env.BENCH_COPY_MB ?? 256);
const PART = 8 * MiB;
const IN_FLIGHT = 4;

function report(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${value.toFixed(1)} ${unit}`);
}

/** A part's bytes: one random buffer with the part number stamped in front (parts differ, cheaply). */
function partBody(template: Buffer, partNumber: number, size: number): Buffer {
  const body = Buffer.from(template.subarray(0, size));
  body.writeUInt32BE(partNumber, 0);
  return body;
}

async function run(backend: string, s3: S3Client): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: 'bench-mp' }));
  const template = randomBytes(PART);
  const total = uploadMb * MiB;
  const partCount = Math.ceil(total / PART);
  let start = performance.now();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bench-mp', Key: 'big' }));
  const etags: string[] = new Array<string>(partCount);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, partCount) }, async () => {
      while (next < partCount) {
        const index = next++;
        const size = Math.min(PART, total - index * PART);
        const out = await s3.send(
          new UploadPartCommand({
            Bucket: 'bench-mp',
            Key: 'big',
            UploadId,
            PartNumber: index + 1,
            Body: partBody(template, index + 1, size),
          }),
        );
        etags[index] = out.ETag as string;
      }
    }),
  );
  const completeStart = performance.now();
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'bench-mp',
      Key: 'big',
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
  const end = performance.now();
  report(
    `${backend}_multipart_upload_${uploadMb}MiB_8MiB_parts_x${IN_FLIGHT}`,
    total / MiB / ((end - start) / 1000),
    'MiB/s',
  );
  report(`${backend}_multipart_complete_${partCount}_parts`, end - completeStart, 'ms');

  const copyBytes = copyMb * MiB;
  const source = (async function* () {
    for (let sent = 0; sent < copyBytes; sent += PART)
      yield partBody(template, sent / PART, Math.min(PART, copyBytes - sent));
  })();
  await s3.send(
    new PutObjectCommand({
      Bucket: 'bench-mp',
      Key: 'copy-src',
      Body: Readable.from(source),
      ContentLength: copyBytes,
    }),
  );
  start = performance.now();
  await s3.send(
    new CopyObjectCommand({ Bucket: 'bench-mp', Key: 'copy-dst', CopySource: 'bench-mp/copy-src' }),
  );
  report(`${backend}_copy_object_${copyMb}MiB`, copyMb / ((performance.now() - start) / 1000), 'MiB/s');
}

if (backendChoice === 'filesystem' || backendChoice === 'both') {
  const gateway = await spawnFilesystemGateway();
  try {
    await run('filesystem', gateway.client(ACCOUNTS.alice));
  } finally {
    await gateway.stop();
  }
}
if (backendChoice === 'distributed' || backendChoice === 'both') {
  const target = await startDistributedTarget({ big: true });
  try {
    await run('distributed', target.alice);
  } finally {
    await target.stop();
  }
}
