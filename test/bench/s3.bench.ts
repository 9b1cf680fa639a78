// Gateway benchmark: the pinned AWS SDK against a gateway in a child process, over the filesystem
// backend and over the distributed backend (3 s3db + 5 appliances as child processes, RS(3,2)).
// Prints `BENCH <name> <value> <unit>` lines. Options (env): BENCH_BACKEND (filesystem | distributed |
// both, default both). Filesystem: BENCH_SMALL_PUTS (default 2000), BENCH_LARGE_MB (default 64),
// BENCH_CONCURRENCY (default 16). Distributed: see distributed-bench.ts beside this file's imports.
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCOUNTS, processCpuMs, spawnFilesystemGateway } from '../integration/gateway/harness.ts';
import { runDistributedBench } from '../integration/distributed/bench-run.ts';

const backendChoice = process.env.BENCH_BACKEND ?? 'both';

const smallPuts = Number(process.env.BENCH_SMALL_PUTS ?? 2000);
const largeMb = Number(process.env.BENCH_LARGE_MB ?? 64);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);

function report(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${value.toFixed(1)} ${unit}`);
}

async function inParallel(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

async function runFilesystemBench(): Promise<void> {
  const gateway = await spawnFilesystemGateway();

  /** Runs a phase and reports its rate plus the gateway process's CPU time per operation (load-independent). */
  async function phase(
    name: string,
    ops: number,
    unit: string,
    amount: number,
    run: () => Promise<void>,
  ): Promise<void> {
    const cpuBefore = await processCpuMs(gateway.pid);
    const start = performance.now();
    await run();
    const seconds = (performance.now() - start) / 1000;
    const cpu = (await processCpuMs(gateway.pid)) - cpuBefore;
    report(name, amount / seconds, unit);
    report(`${name}_gateway_cpu`, cpu / ops, 'ms/op');
  }
  try {
    const client = gateway.client(ACCOUNTS.alice);
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));

    const small = Buffer.from('x'.repeat(1024));
    await phase('s3_put_1KiB', smallPuts, 'ops/s', smallPuts, () =>
      inParallel(smallPuts, concurrency, async (i) => {
        await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${i}`, Body: small }));
      }),
    );
    await phase('s3_get_1KiB', smallPuts, 'ops/s', smallPuts, () =>
      inParallel(smallPuts, concurrency, async (i) => {
        const got = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: `small/${i}` }));
        await got.Body?.transformToByteArray();
      }),
    );
    const pageCount = Math.ceil(smallPuts / 100);
    await phase('s3_list_page_100', pageCount, 'pages/s', pageCount, async () => {
      let token: string | undefined;
      for (let pages = 0; pages < pageCount; pages++) {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: 'bench',
            MaxKeys: 100,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        token = page.NextContinuationToken;
      }
    });

    const large = randomBytes(largeMb * 1024 * 1024);
    await phase(`s3_put_${largeMb}MiB`, 1, 'MiB/s', largeMb, async () => {
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'large', Body: large }));
    });
    let back: Uint8Array | undefined;
    await phase(`s3_get_${largeMb}MiB`, 1, 'MiB/s', largeMb, async () => {
      const got = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'large' }));
      back = await got.Body?.transformToByteArray();
    });
    if (back === undefined || !Buffer.from(back).equals(large)) throw new Error('large object differs');
  } finally {
    await gateway.stop();
  }
}

if (backendChoice === 'filesystem' || backendChoice === 'both') await runFilesystemBench();
if (backendChoice === 'distributed' || backendChoice === 'both') await runDistributedBench(report);
