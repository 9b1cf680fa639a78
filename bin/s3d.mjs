#!/usr/bin/env node
// Entry point of the `s3d` command: loads the TypeScript sources through tsx and runs the CLI.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./s3d.ts');
const code = await main(process.argv.slice(2), process.env);
process.exitCode = code;
// Everything s3d started is closed by now; a handle some library left open must not keep us alive.
setTimeout(() => process.exit(code), 2000).unref();
