#!/usr/bin/env node
// Entry point of the `s3d` command: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./s3d.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
