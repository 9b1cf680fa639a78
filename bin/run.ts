// Runs a start plan until it is told to stop: the filesystem gateway, a dev cluster (each s3db node and
// each appliance as a child process, the gateway in this one), or the parts of one cluster member.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { ensureClusterCertificates } from '../shared/tls/index.ts';
import type { StartPlan } from '../shared/config/plan.ts';
import {
  ChildStartError,
  Supervisor,
  announceReady,
  describeExit,
  hasSupervisor,
  isCleanExit,
  onStopSignal,
  watchSupervisor,
} from '../shared/process/index.ts';
import { startMember } from '../appliance/daemon/index.ts';
import type { RunningMember } from '../appliance/daemon/index.ts';
import { devChildSpecs } from './children.ts';
import { startPlanGateway } from './gateway.ts';
import type { RunningGateway } from './gateway.ts';
import { waitForGatewayReady, waitForS3dbLeader } from './probes.ts';
import { readyLines } from './ready-text.ts';
import { StopRequested, StopTrigger } from './stop-trigger.ts';
import type { StopReason } from './stop-trigger.ts';

export interface RunIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface RunContext {
  io: RunIo;
  /** The -config path as given (children get it made absolute). */
  configPath: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Bind address of the S3 API; default 127.0.0.1 in dev mode, 0.0.0.0 otherwise. */
  host?: string;
}

export const TIMEOUTS = {
  /** Children: from spawn to "ready" (tsx compiles on first start; LevelDB opens; certificates). */
  childReadyMs: 90_000,
  s3dbLeaderMs: 30_000,
  gatewayReadyMs: 60_000,
  /** SIGTERM → SIGKILL. */
  stopGraceMs: 10_000,
};

const S3D_PATH = fileURLToPath(new URL('./s3d.mjs', import.meta.url));

export async function runPlan(plan: StartPlan, context: RunContext): Promise<number> {
  switch (plan.mode) {
    case 'dev':
      return runDevCluster(plan, context);
    default:
      return runInProcess(plan, context);
  }
}

function reasonText(reason: StopReason): string {
  switch (reason.kind) {
    case 'signal':
      return `${reason.signal} received`;
    case 'child-exit':
      return `${reason.child.role} (pid ${reason.child.pid ?? '?'}) ${describeExit(reason.exit)} unexpectedly`;
    case 'fatal':
      return `${reason.role} stopped after a fatal error: ${String(reason.error)}`;
    case 'supervisor-gone':
      return 'the supervising s3d process is gone';
  }
}

function reportStartFailure(io: RunIo, error: unknown): void {
  if (error instanceof ChildStartError) {
    io.err(`s3d: ${error.message}`);
    if (error.recentLines.length > 0) {
      io.err(`s3d: its last output:`);
      for (const line of error.recentLines) io.err(`  ${line}`);
    }
    return;
  }
  io.err(`s3d: could not start: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Dev mode. A child that dies on its own stops the whole cluster with exit code 1: a supervisor that
 * quietly restarted it would hide the bug that killed it, and the cluster keeps no state a restart
 * would need that the next `s3d` does not also rebuild.
 */
async function runDevCluster(plan: StartPlan, context: RunContext): Promise<number> {
  const { io, config } = { io: context.io, config: plan.config };
  const trigger = new StopTrigger();
  const supervisor = new Supervisor({
    sink: { out: io.out, err: io.err },
    onUnexpectedExit: (child, exit) => trigger.fire({ kind: 'child-exit', child, exit }),
  });
  let signals = 0;
  const removeSignals = onStopSignal((signal) => {
    signals++;
    if (signals === 1) trigger.fire({ kind: 'signal', signal });
    else {
      io.err(`s3d: ${signal} again: killing the children now`);
      for (const child of supervisor.children) void child.stop(0);
    }
  });
  let gateway: RunningGateway | undefined;
  let startingGateway: Promise<RunningGateway> | undefined;
  let exitCode = 0;
  try {
    io.out(
      `s3d: dev mode: starting ${plan.dbNodes.length} s3db node(s), ${plan.shardNodes.length} appliance(s)` +
        (plan.gateway === undefined ? '' : ' and the gateway'),
    );
    const names = [
      ...plan.dbNodes.map((d) => `s3db-${d.id}`),
      ...plan.shardNodes.map((n) => `node-${n.id}`),
      'gateway',
    ];
    const certs = await trigger.race(ensureClusterCertificates(config.tls.dir, names));
    for (const spec of devChildSpecs(plan, {
      execPath: process.execPath,
      s3dPath: S3D_PATH,
      configPath: resolve(context.configPath),
      cwd: process.cwd(),
      env: process.env,
    }))
      supervisor.spawn(spec);
    for (const child of supervisor.children) io.out(`s3d: started ${child.role} (pid ${child.pid ?? '?'})`);
    await trigger.race(supervisor.waitReady(TIMEOUTS.childReadyMs));
    const leader = await trigger.race(waitForS3dbLeader(config, certs.caPem, TIMEOUTS.s3dbLeaderMs));
    io.out(`s3d: every child is ready; s3db leader is node ${leader}`);
    if (plan.gateway === undefined) {
      io.out(
        `s3d: ready: ${plan.dbNodes.length} s3db node(s) and ${plan.shardNodes.length} appliance(s); no gateway (-no-gateway)`,
      );
    } else {
      startingGateway = startPlanGateway(plan, context.host ?? '127.0.0.1');
      gateway = await trigger.race(startingGateway);
      await trigger.race(waitForGatewayReady(gateway.url, TIMEOUTS.gatewayReadyMs));
      for (const line of readyLines(plan, gateway.url)) io.out(line);
    }
    const reason = await trigger.stopped;
    if (reason.kind !== 'signal') {
      io.err(`s3d: ${reasonText(reason)}; stopping everything`);
      exitCode = 1;
    } else io.out(`s3d: ${reasonText(reason)}; stopping`);
  } catch (error) {
    if (error instanceof StopRequested) {
      gateway ??= await startingGateway?.catch(() => undefined);
      const reason = error.reason;
      if (reason.kind === 'signal') io.out(`s3d: ${reasonText(reason)} while starting; stopping`);
      else {
        io.err(`s3d: ${reasonText(reason)} while starting; stopping everything`);
        exitCode = 1;
      }
    } else {
      reportStartFailure(io, error);
      exitCode = 1;
    }
  }
  try {
    await gateway?.close();
  } catch (error) {
    io.err(`s3d: closing the gateway failed: ${(error as Error).message}`);
  }
  const exits = await supervisor.stopAll(TIMEOUTS.stopGraceMs);
  for (const [child, exit] of exits) {
    const expected = isCleanExit(exit, child.stopRequested);
    if (!expected && !(trigger.reason?.kind === 'child-exit' && trigger.reason.child === child))
      io.err(`s3d: ${child.role} ${describeExit(exit)} while stopping`);
  }
  removeSignals();
  io.out(`s3d: stopped (${exits.size} child process(es) gone)`);
  return exitCode;
}

/** Filesystem gateway, s3db-only, or the chosen parts of one member (maybe with a gateway): all here. */
async function runInProcess(plan: StartPlan, context: RunContext): Promise<number> {
  const { io } = context;
  const trigger = new StopTrigger();
  const removeSignals = onStopSignal((signal) => {
    if (!trigger.fire({ kind: 'signal', signal })) io.err(`s3d: ${signal} again: already stopping`);
  });
  const unwatch = watchSupervisor(() => trigger.fire({ kind: 'supervisor-gone' }));
  let member: RunningMember | undefined;
  let gateway: RunningGateway | undefined;
  // What is still starting when a stop comes: it is waited for and closed, never left running.
  const starting: { member?: Promise<RunningMember>; gateway?: Promise<RunningGateway> } = {};
  let exitCode = 0;
  try {
    if (plan.dbNodes.length > 0 || plan.shardNodes.length > 0) {
      starting.member = startMember(
        plan.config,
        plan.dbNodes.map((d) => d.id),
        plan.shardNodes.map((n) => n.id),
        io.out,
      );
      member = await trigger.race(starting.member);
      void member.fatal.then(({ role, error }) => trigger.fire({ kind: 'fatal', role, error }));
    }
    const roles = member?.parts.map((p) => p.role) ?? [];
    if (plan.gateway !== undefined) {
      starting.gateway = startPlanGateway(plan, context.host ?? '0.0.0.0');
      gateway = await trigger.race(starting.gateway);
      await trigger.race(waitForGatewayReady(gateway.url, TIMEOUTS.gatewayReadyMs));
      roles.push('gateway');
    }
    const detail: Record<string, unknown> = Object.fromEntries(
      (member?.parts ?? []).map((p) => [p.role, p.detail]),
    );
    if (gateway !== undefined) detail['gateway'] = gateway.url;
    announceReady(roles.join(' + '), detail);
    if (gateway !== undefined) for (const line of readyLines(plan, gateway.url)) io.out(line);
    else io.out(`s3d: ready: ${roles.join(', ')} serving`);
    const reason = await trigger.stopped;
    if (reason.kind === 'fatal') {
      io.err(`s3d: ${reasonText(reason)}; stopping`);
      exitCode = 1;
    } else if (!hasSupervisor() || reason.kind !== 'signal') io.out(`s3d: ${reasonText(reason)}; stopping`);
  } catch (error) {
    if (error instanceof StopRequested) {
      member ??= await starting.member?.catch(() => undefined);
      gateway ??= await starting.gateway?.catch(() => undefined);
      if (error.reason.kind === 'fatal') exitCode = 1;
      io.out(`s3d: ${reasonText(error.reason)} while starting; stopping`);
    } else {
      reportStartFailure(io, error);
      exitCode = 1;
    }
  }
  try {
    await gateway?.close();
    await member?.close();
  } catch (error) {
    io.err(`s3d: stopping failed: ${(error as Error).message}`);
    exitCode = 1;
  }
  unwatch();
  removeSignals();
  return exitCode;
}
