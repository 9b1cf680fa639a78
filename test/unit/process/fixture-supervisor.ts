// A supervisor of one fixture child, for the "supervisor killed with kill -9" test: it prints the
// child's pid once the child is ready, announces itself ready, then waits to be killed.
import { fileURLToPath } from 'node:url';
import { ManagedChild, announceReady } from '../../../shared/process/index.ts';

const FIXTURE = fileURLToPath(new URL('./fixture-child.ts', import.meta.url));
const child = new ManagedChild(
  { role: 'grandchild', command: process.execPath, args: ['--import', 'tsx', FIXTURE, 'ready'] },
  { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
);
await child.ready;
process.stdout.write(`grandchild pid ${child.pid}\n`);
announceReady('middle', { grandchild: child.pid });
setInterval(() => {}, 1000);
