// A tiny supervised child for the supervisor tests. argv[2] says how to behave:
//   ready           say ready, then run until SIGTERM (exit 0) or until the supervisor's channel closes (exit 3)
//   crash           print a line to each stream, then exit 7 without saying ready
//   stubborn        say ready and ignore SIGTERM
import { announceReady, watchSupervisor } from '../../../shared/process/readiness.ts';

const mode = process.argv[2];
const keepAlive = setInterval(() => {}, 1000);
if (mode === 'crash') {
  process.stdout.write('about to crash\n');
  process.stderr.write('crash reason: testing\n');
  process.exit(7);
}
if (mode === 'stubborn') process.on('SIGTERM', () => process.stdout.write('ignoring SIGTERM\n'));
else
  process.once('SIGTERM', () => {
    clearInterval(keepAlive);
    process.exit(0);
  });
watchSupervisor(() => {
  process.stdout.write('supervisor gone\n');
  process.exit(3);
});
process.stdout.write(`pid ${process.pid} up\n`);
announceReady(`fixture ${mode}`, { pid: process.pid });
