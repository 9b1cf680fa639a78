import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join as joinPath } from 'node:path';
import { signRequest } from '../../shared/sigv4/index.ts';
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { ClusterConfig } from '../../shared/config/index.ts';
import { isDevMode } from '../../shared/config/index.ts';
import { ensureClusterCertificates, loadTlsIdentity } from '../../shared/tls/index.ts';
import { RaftDriver, snapshotSource } from './driver.ts';
import { removePartialTransfers } from './snapshot-file.ts';
import type { RaftTimings } from './driver.ts';
import { S3dbError } from './errors.ts';
import { Fsm } from './fsm.ts';
import { ApiServer } from './http/server.ts';
import type { JoinRequest } from './http/bodies.ts';
import { RaftLogStorage } from './log-storage.ts';
import { MEMBERS_TABLE, MemberDirectory, decodeMember, encodeMember, memberKey } from './members.ts';
import type { S3dbMember } from './members.ts';
import { RaftTransport } from './transport.ts';
import type { TlsMaterial } from './transport.ts';

export interface S3dbNodeOptions {
  id: number;
  /** Members known from the configuration (this node included unless it joins). */
  members: S3dbMember[];
  /** This node's data directory (holds raft/ and fsm/). */
  dataDir: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  tls: TlsMaterial;
  /**
   * Join an existing cluster through /v1/join instead of founding one. Default: false for configured members.
   * `self` gives this node's addresses when it is not among `members`.
   */
  join?: boolean;
  self?: S3dbMember;
  timings?: Partial<RaftTimings>;
  /** This member is the `leader = true` bootstrap hint of [[db]]: it campaigns first at a fresh bootstrap. */
  bootstrapLeader?: boolean;
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface S3dbNodeHandle {
  id: number;
  httpPort: number;
  raftPort: number;
  driver: RaftDriver;
  members: MemberDirectory;
  /** Resolves when the node has stopped by itself after a fatal storage error. */
  fatal: Promise<unknown>;
  close(): Promise<void>;
}

/** Starts one s3db member: storage, Raft driver, Raft transport and the HTTPS API. */
export async function startS3dbNode(opts: S3dbNodeOptions): Promise<S3dbNodeHandle> {
  const log = opts.log ?? (() => {});
  const self = opts.self ?? opts.members.find((m) => m.id === opts.id);
  if (!self)
    throw new S3dbError(
      'InvalidRequest',
      `node ${opts.id} is not among the configured members and no self address was given`,
    );
  const members = new MemberDirectory(opts.members);
  members.set(self);
  await mkdir(opts.dataDir, { recursive: true });
  const snapshotDir = joinPath(opts.dataDir, 'snapshots');
  await mkdir(snapshotDir, { recursive: true });
  await removePartialTransfers(snapshotDir);
  const storage = await RaftLogStorage.open(joinPath(opts.dataDir, 'raft'));
  const fsm = await Fsm.open(joinPath(opts.dataDir, 'fsm'));
  const initial = await storage.load();
  if (initial.snapshot && fsm.appliedIndex < initial.snapshot.metadata.index) {
    // The FSM lost writes newer than the snapshot (e.g. power loss): start from the snapshot.
    await fsm.restore(snapshotSource(snapshotDir, initial.snapshot.data));
  }
  const loadMembers = async (): Promise<void> => {
    const r = await fsm.scan({ table: MEMBERS_TABLE, limit: 10000 });
    for (const it of r.items) {
      const m = decodeMember(it.value);
      if (m) members.set(m);
    }
  };
  await loadMembers();

  const join = opts.join ?? false;
  const founders = join ? [] : opts.members.map((m) => m.id).sort((a, b) => a - b);
  const wire: { transport?: RaftTransport } = {};
  let resolveFatal: (e: unknown) => void = () => {};
  const fatal = new Promise<unknown>((r) => (resolveFatal = r));
  const freshBootstrap =
    !join && initial.entries.length === 0 && !initial.snapshot && initial.hardState.term === 0;
  if (opts.bootstrapLeader && freshBootstrap)
    log(`s3db node ${opts.id}: bootstrap leader hint: campaigning first`);
  const driver = new RaftDriver({
    id: opts.id,
    peers: founders,
    campaignFirst: (opts.bootstrapLeader ?? false) && freshBootstrap,
    storage,
    fsm,
    initial,
    snapshotDir,
    timings: opts.timings ?? {},
    send: (to, payload) => wire.transport?.send(to, payload),
    onApplied: (entries) => {
      // A joining member's addresses are written to _members before its conf change, so they are there now.
      if (entries.some((e) => e.type === 'confChange')) void loadMembers().catch(() => {});
    },
    onLeaderChange: (leaderId, role) => log(`s3db node ${opts.id}: ${role}, leader ${leaderId}`),
    onFatal: (err) => {
      log(`s3db node ${opts.id}: fatal: ${String(err)}`);
      resolveFatal(err);
    },
  });
  const transport = await RaftTransport.listen({
    bindHost: self.host,
    port: self.raftPort,
    tls: opts.tls,
    resolve: (id) => members.raftAddress(id),
    onMessage: (payload) => driver.receive(payload),
    onUnreachable: (id) => driver.reportUnreachable(id),
  });

  wire.transport = transport;

  const addMember = async (req: JoinRequest): Promise<void> => {
    const member: S3dbMember = {
      id: req.id,
      host: req.host,
      advertiseHost: req.host,
      port: req.port,
      raftPort: req.raftPort,
    };
    await driver.propose({
      type: 'put',
      table: MEMBERS_TABLE,
      key: memberKey(req.id),
      value: encodeMember(member),
    });
    members.set(member);
    if (driver.status().voters.includes(req.id)) return;
    await driver.proposeConfChange({ type: 'addNode', nodeId: req.id });
  };
  const removeMember = async (id: number): Promise<boolean> => {
    const st = driver.status();
    if (!st.voters.includes(id)) return false;
    if (id === opts.id) {
      // Hand leadership to the most up-to-date other voter first; the new leader then removes this node.
      const others = st.progress.filter((p) => p.id !== opts.id).sort((a, b) => b.match - a.match);
      const target = others[0];
      if (!target) throw new S3dbError('InvalidRequest', 'cannot remove the last voter');
      await driver.transferLeadership(target.id);
      throw Object.assign(new S3dbError('NotLeader', `node ${opts.id} handed leadership to ${target.id}`), {
        leaderId: driver.leaderId,
      });
    }
    await driver.proposeConfChange({ type: 'removeNode', nodeId: id });
    await driver.propose({ type: 'delete', table: MEMBERS_TABLE, key: memberKey(id) });
    log(`s3db node ${opts.id}: removed member ${id}`);
    return true;
  };
  const api = new ApiServer({
    bindHost: self.host,
    port: self.port,
    tls: opts.tls,
    credentials: opts.credentials,
    driver,
    fsm,
    members,
    nodeId: opts.id,
    join: addMember,
    remove: removeMember,
    ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  const httpPort = await api.listen();
  driver.start();
  log(
    `s3db node ${opts.id}: API https://${self.advertiseHost}:${httpPort}, raft ${self.advertiseHost}:${transport.port}`,
  );

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await api.close();
    await driver.stop();
    await transport.close();
    await fsm.close();
    await storage.close();
  };
  const handle: S3dbNodeHandle = {
    id: opts.id,
    httpPort,
    raftPort: transport.port,
    driver,
    members,
    fatal,
    close,
  };
  if (join && initial.entries.length === 0 && !initial.snapshot) {
    await requestJoin(opts, self).catch(async (err) => {
      await close();
      throw err;
    });
  }
  return handle;
}

/** Asks the configured members to add this node (the first that answers forwards to the leader). */
async function requestJoin(opts: S3dbNodeOptions, self: S3dbMember): Promise<void> {
  const body = Buffer.from(
    JSON.stringify({ id: opts.id, host: self.advertiseHost, port: self.port, raftPort: self.raftPort }),
  );
  const targets = opts.members.filter((m) => m.id !== opts.id);
  const deadline = Date.now() + 30_000;
  let lastError = 'no members to join';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const m = targets[attempt % Math.max(1, targets.length)];
    if (!m) break;
    const host = `${m.advertiseHost}:${m.port}`;
    const signed = signRequest({
      method: 'POST',
      path: '/v1/join',
      headers: { host, 'content-type': 'application/json' },
      payloadHash: createHash('sha256').update(body).digest('hex'),
      credentials: opts.credentials,
      region: opts.region ?? 'us-east-1',
      service: 's3db',
    });
    const status = await new Promise<number>((resolve) => {
      const req = https.request(
        {
          host: m.advertiseHost,
          port: m.port,
          method: 'POST',
          path: '/v1/join',
          headers: {
            host,
            'content-type': 'application/json',
            'content-length': String(body.length),
            ...signed.headers,
          },
          ca: opts.tls.caPem,
          checkServerIdentity: () => undefined,
          timeout: 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            lastError = `${m.id}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`;
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        lastError = `${m.id}: ${e.message}`;
        resolve(0);
      });
      req.end(body);
    });
    if (status === 200) return;
    if (status >= 400 && status < 500 && status !== 421)
      throw new S3dbError('InvalidRequest', `join refused: ${lastError}`);
    await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
  }
  throw new S3dbError('Timeout', `could not join the cluster: ${lastError}`);
}

export function membersFromConfig(config: ClusterConfig): S3dbMember[] {
  return config.db.map((d) => ({
    id: d.id,
    host: d.host,
    port: d.port,
    raftPort: d.raftPort,
    advertiseHost: d.advertiseHost,
  }));
}

/** The TLS identity of db node `id`: created on demand in dev mode, otherwise read from `[tls] dir`. */
export async function dbNodeTls(config: ClusterConfig, id: number): Promise<TlsMaterial> {
  const name = `s3db-${id}`;
  if (isDevMode(config)) {
    const me = config.db.find((d) => d.id === id);
    const extraIps =
      me && isIP(me.advertiseHost) && !me.advertiseHost.startsWith('127.') ? [me.advertiseHost] : [];
    const certs = await ensureClusterCertificates(config.tls.dir, [{ name, ipAddresses: extraIps }]);
    const pair = certs.nodes[name]!;
    return { caPem: certs.caPem, certPem: pair.certPem, keyPem: pair.keyPem };
  }
  const identity = await loadTlsIdentity(config.tls.dir, name);
  return identity;
}

/**
 * `s3d -db -config FILE -db-node N`: runs db node N of the configuration. With no `[[db]]` in the file the
 * configuration already holds the default embedded node (127.0.0.1:6660, spec §14).
 */
export async function startS3dbNodeFromConfig(
  config: ClusterConfig,
  id: number,
  extra: { timings?: Partial<RaftTimings>; join?: boolean; log?: (line: string) => void } = {},
): Promise<S3dbNodeHandle> {
  const me = config.db.find((d) => d.id === id);
  if (!me) throw new S3dbError('InvalidRequest', `no [[db]] entry with id ${id} in ${config.file}`);
  const opts: S3dbNodeOptions = {
    id,
    members: membersFromConfig(config),
    dataDir: me.path,
    credentials: { accessKeyId: me.accessKeyId, secretAccessKey: me.secretAccessKey },
    region: config.region,
    tls: await dbNodeTls(config, id),
    bootstrapLeader: me.leader,
  };
  if (extra.timings) opts.timings = extra.timings;
  if (extra.join !== undefined) opts.join = extra.join;
  if (extra.log) opts.log = extra.log;
  return startS3dbNode(opts);
}
