#!/usr/bin/env node
// Entry point of the `s3d` command: loads the TypeScript sources through tsx and runs the CLI.

// Every shard write and s3db commit fsyncs on libuv's pool; its default of 4 threads serialises them.
// Set before anything queues pool work (the pool is created on first use); children inherit it.
process.env.UV_THREADPOOL_SIZE ??= '64';

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./s3d.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
