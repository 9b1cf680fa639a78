import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import {
  createCertificateAuthority,
  issueCertificate,
  describeCertificate,
  certificateMatchesCa,
  ensureClusterCertificates,
  loadTlsIdentity,
  CertificateError,
  runCertsCommand,
  parseCertsArgs,
  UsageError,
} from '../../../shared/tls/index.ts';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'predastore-tls-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('issued certificate chains to the CA and carries the cluster SANs', async () => {
  const ca = await createCertificateAuthority();
  const node = await issueCertificate(ca, {
    name: 'node-3',
    ipAddresses: ['10.0.0.7'],
    dnsNames: ['store3.example'],
  });
  const info = describeCertificate(node.certPem);
  assert.deepEqual(info.dnsNames.sort(), ['localhost', 'node-3.predastore.internal', 'store3.example']);
  assert.ok(info.ipAddresses.includes('127.0.0.1'));
  assert.ok(info.ipAddresses.includes('10.0.0.7'));
  assert.ok(certificateMatchesCa(node.certPem, ca.certPem, node.keyPem));
  const other = await createCertificateAuthority();
  assert.equal(certificateMatchesCa(node.certPem, other.certPem), false);
  assert.equal(certificateMatchesCa(node.certPem, ca.certPem, other.keyPem), false);
  const x = new X509Certificate(ca.certPem);
  assert.equal(x.ca, true);
});

test('invalid names and addresses are typed errors', async () => {
  const ca = await createCertificateAuthority();
  await assert.rejects(issueCertificate(ca, { name: 'Bad Name' }), CertificateError);
  await assert.rejects(issueCertificate(ca, { name: 'n', ipAddresses: ['300.1.1.1'] }), CertificateError);
  await assert.rejects(issueCertificate(ca, { name: 'n', dnsNames: ['bad..dns'] }), CertificateError);
  await assert.rejects(
    issueCertificate({ certPem: 'junk', keyPem: ca.keyPem }, { name: 'n' }),
    CertificateError,
  );
});

test('ensureClusterCertificates is idempotent, writes keys 0600, and reissues what the CA did not sign', async () => {
  await withTempDir(async (dir) => {
    const first = await ensureClusterCertificates(dir, ['node-1', 'gateway']);
    const second = await ensureClusterCertificates(dir, ['node-1', 'gateway']);
    assert.equal(first.caPem, second.caPem);
    assert.equal(first.nodes['node-1']?.certPem, second.nodes['node-1']?.certPem);
    for (const f of ['ca.key', 'node-1.key', 'gateway.key']) {
      assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
    }
    // A certificate from a foreign CA is replaced.
    const foreign = await issueCertificate(await createCertificateAuthority(), { name: 'node-1' });
    await writeFile(join(dir, 'node-1.crt'), foreign.certPem);
    await writeFile(join(dir, 'node-1.key'), foreign.keyPem);
    const third = await ensureClusterCertificates(dir, [
      'node-1',
      { name: 'gateway', ipAddresses: ['10.1.2.3'] },
    ]);
    assert.equal(third.caPem, first.caPem);
    assert.notEqual(third.nodes['node-1']?.certPem, foreign.certPem);
    assert.ok(
      certificateMatchesCa(third.nodes['node-1']!.certPem, first.caPem, third.nodes['node-1']!.keyPem),
    );
    assert.ok(describeCertificate(third.nodes['gateway']!.certPem).ipAddresses.includes('10.1.2.3'));
    const id = await loadTlsIdentity(dir, 'gateway');
    assert.equal(id.certPem, third.nodes['gateway']?.certPem);
  });
});

test('concurrent ensureClusterCertificates calls agree on one CA', async () => {
  await withTempDir(async (dir) => {
    const results = await Promise.all([1, 2, 3].map(() => ensureClusterCertificates(dir, ['node-1'])));
    assert.equal(new Set(results.map((r) => r.caPem)).size, 1);
    assert.equal(results[0]?.caPem, await readFile(join(dir, 'ca.crt'), 'utf8'));
  });
});

test('mutual TLS: a peer with a cluster certificate is accepted, one without is refused', async () => {
  await withTempDir(async (dir) => {
    const certs = await ensureClusterCertificates(dir, ['node-1', 'gateway']);
    const server = createServer(
      {
        cert: certs.nodes['node-1']!.certPem,
        key: certs.nodes['node-1']!.keyPem,
        ca: certs.caPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => socket.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const dial = (opts: { cert?: string; key?: string }): Promise<string> =>
      new Promise((resolve, reject) => {
        const s: TLSSocket = connect({
          host: '127.0.0.1',
          port,
          servername: 'node-1.predastore.internal',
          ca: certs.caPem,
          ...opts,
        });
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
    try {
      assert.equal(
        await dial({ cert: certs.nodes['gateway']!.certPem, key: certs.nodes['gateway']!.keyPem }),
        'ok',
      );
      // With TLS 1.3 the client may finish its handshake before the server rejects it: then the server's
      // alert shows up as an error or an empty stream, never as the server's answer.
      const refused = (opts: { cert?: string; key?: string }) => dial(opts).catch(() => 'refused');
      assert.notEqual(await refused({}), 'ok');
      const stranger = await issueCertificate(await createCertificateAuthority(), { name: 'gateway' });
      assert.notEqual(await refused({ cert: stranger.certPem, key: stranger.keyPem }), 'ok');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

test('certs command: init, issue, show, usage errors', async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    assert.equal(await runCertsCommand(['-h'], io), 0);
    assert.match(lines.join('\n'), /s3d certs init/);
    assert.equal(await runCertsCommand(['init', '-dir', dir], io), 0);
    assert.equal(await runCertsCommand(['init', '-dir', dir], io), 1, 'refuses to overwrite the CA');
    assert.equal(
      await runCertsCommand(
        ['issue', '-dir', dir, '-name', 'node-2', '-ip', '10.0.0.2,10.0.0.3', '-dns=a.example'],
        io,
      ),
      0,
    );
    const info = describeCertificate(await readFile(join(dir, 'node-2.crt'), 'utf8'));
    assert.ok(info.ipAddresses.includes('10.0.0.3'));
    assert.ok(info.dnsNames.includes('a.example'));
    assert.equal((await stat(join(dir, 'node-2.key'))).mode & 0o777, 0o600);
    assert.equal(await runCertsCommand(['show', '-dir', dir, '-name', 'node-2'], io), 0);
    assert.equal(await runCertsCommand(['issue', '-dir', dir], io), 2);
    assert.equal(await runCertsCommand(['frobnicate', '-dir', dir], io), 2);
    assert.equal(await runCertsCommand(['issue', '-dir', join(dir, 'nothing'), '-name', 'x'], io), 1);
    assert.throws(() => parseCertsArgs(['issue', '-dir']), UsageError);
    assert.equal(parseCertsArgs(['init', '--dir=/x', '--force']).force, true);
  });
});
