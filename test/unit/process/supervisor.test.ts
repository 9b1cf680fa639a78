import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ChildStartError, ManagedChild, Supervisor } from '../../../shared/process/index.ts';
import type { ChildExit, ChildSpec } from '../../../shared/process/index.ts';
import { describeExit, isCleanExit } from '../../../shared/process/exit-status.ts';

const FIXTURE = fileURLToPath(new URL('./fixture-child.ts', import.meta.url));
const MIDDLE = fileURLToPath(new URL('./fixture-supervisor.ts', import.meta.url));

function spec(role: string, mode: string): ChildSpec {
  return { role, command: process.execPath, args: ['--import', 'tsx', FIXTURE, mode] };
}

function collector(): { lines: string[]; sink: { out: (l: string) => void; err: (l: string) => void } } {
  const lines: string[] = [];
  return { lines, sink: { out: (l) => lines.push(`out ${l}`), err: (l) => lines.push(`err ${l}`) } };
}

describe('describeExit / isCleanExit', () => {
  it('words exit codes and signals; only code 0 or the signal we sent counts as clean', () => {
    assert.equal(describeExit({ code: 3, signal: null }), 'exited with code 3');
    assert.equal(describeExit({ code: null, signal: 'SIGKILL' }), 'was killed by SIGKILL');
    assert.equal(isCleanExit({ code: 0, signal: null }, false), true);
    assert.equal(isCleanExit({ code: null, signal: 'SIGTERM' }, true), true);
    assert.equal(isCleanExit({ code: null, signal: 'SIGTERM' }, false), false);
    assert.equal(isCleanExit({ code: null, signal: 'SIGKILL' }, true), false);
    assert.equal(isCleanExit({ code: 1, signal: null }, true), false);
  });
});

describe('ManagedChild and Supervisor (real child processes)', { concurrency: true }, () => {
  it('forwards output prefixed with the role, resolves ready, and stops with SIGTERM → exit 0', async () => {
    const { lines, sink } = collector();
    const unexpected: string[] = [];
    const supervisor = new Supervisor({ sink, onUnexpectedExit: (c) => unexpected.push(c.role) });
    const child = supervisor.spawn(spec('worker 1', 'ready'));
    const [ready] = await supervisor.waitReady(30_000);
    assert.equal(ready?.role, 'fixture ready');
    assert.deepEqual(ready?.detail, { pid: child.pid });
    const exits = await supervisor.stopAll(5000);
    assert.deepEqual(exits.get(child), { code: 0, signal: null });
    assert.ok(lines.includes(`out [worker 1] pid ${child.pid} up`), lines.join('\n'));
    assert.deepEqual(unexpected, []);
  });

  it('a child that exits before it is ready fails waitReady with its role, exit and last lines', async () => {
    const { sink } = collector();
    const exits: ChildExit[] = [];
    const supervisor = new Supervisor({ sink, onUnexpectedExit: (_c, e) => exits.push(e) });
    supervisor.spawn(spec('worker 2', 'crash'));
    const error = await supervisor.waitReady(30_000).then(
      () => assert.fail('should not be ready'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ChildStartError);
    assert.equal(error.role, 'worker 2');
    assert.equal(error.message, 'worker 2 exited with code 7 before it was ready');
    assert.deepEqual([...error.recentLines].sort(), [
      '[worker 2] about to crash',
      '[worker 2] crash reason: testing',
    ]);
    assert.deepEqual(exits, [{ code: 7, signal: null }]);
  });

  it('SIGKILLs a child that ignores SIGTERM once the grace period is over', async () => {
    const { lines, sink } = collector();
    const child = new ManagedChild(spec('worker 3', 'stubborn'), sink);
    await child.ready;
    const exit = await child.stop(300);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
    assert.ok(child.stopRequested);
    assert.ok(lines.includes('out [worker 3] ignoring SIGTERM'), lines.join('\n'));
  });

  it('reports a child killed from outside through onUnexpectedExit, once', async () => {
    const { sink } = collector();
    const reports: Array<[string, ChildExit]> = [];
    const supervisor = new Supervisor({ sink, onUnexpectedExit: (c, e) => reports.push([c.role, e]) });
    const child = supervisor.spawn(spec('worker 4', 'ready'));
    await supervisor.waitReady(30_000);
    process.kill(child.pid as number, 'SIGKILL');
    await child.exited;
    await supervisor.stopAll(1000);
    assert.deepEqual(reports, [['worker 4', { code: null, signal: 'SIGKILL' }]]);
  });

  it('a child stops by itself when its supervisor is killed with kill -9 (no orphans)', async () => {
    const { sink } = collector();
    const middle = new ManagedChild(
      { role: 'middle', command: process.execPath, args: ['--import', 'tsx', MIDDLE] },
      sink,
    );
    const ready = await middle.ready;
    const grandchild = ready.detail['grandchild'] as number;
    assert.ok(Number.isInteger(grandchild));
    process.kill(middle.pid as number, 'SIGKILL');
    await middle.exited;
    const deadline = Date.now() + 10_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        process.kill(grandchild, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        alive = false;
      }
    }
    if (alive) process.kill(grandchild, 'SIGKILL');
    assert.equal(alive, false, 'the grandchild outlived its supervisor');
  });

  it('waitReady names the children that are late', async () => {
    const { sink } = collector();
    const supervisor = new Supervisor({ sink, onUnexpectedExit: () => {} });
    supervisor.spawn(spec('worker 6', 'ready'));
    const error = await supervisor.waitReady(1).then(
      () => assert.fail('cannot be ready within 1 ms'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ChildStartError);
    assert.match(error.message, /^not ready after 0 s: worker 6$/);
    await supervisor.stopAll(5000);
  });
});
