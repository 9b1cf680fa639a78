import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCertificateAuthority, issueCertificate } from '../../../shared/tls/certificates.ts';
import type { CertificateAuthority, PemPair } from '../../../shared/tls/certificates.ts';
import { Http1Pool, Http1RequestError, requestHead } from '../../../shared/http1/connection-pool.ts';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function listen(
  cert: PemPair,
  handler: Handler,
  opts: { keepAliveTimeout?: number } = {},
): Promise<{ server: https.Server; address: string; connections: () => number }> {
  let connections = 0;
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  server.keepAliveTimeout = opts.keepAliveTimeout ?? 60_000;
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { server, address: `127.0.0.1:${port}`, connections: () => connections };
}

const echo: Handler = (req, body, res) => {
  res.setHeader('x-method', req.method ?? '');
  res.setHeader('x-url', req.url ?? '');
  res.setHeader('x-custom', String(req.headers['x-custom'] ?? ''));
  res.end(body);
};

const request = (server: string, body = Buffer.alloc(0), headers: Record<string, string> = {}) => ({
  server,
  method: 'POST',
  target: '/v1/put/t/6b?x=1',
  headers,
  body,
  timeoutMs: 5000,
});

async function rejection(p: Promise<unknown>): Promise<Http1RequestError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Http1RequestError, String(e));
    return e;
  }
  assert.fail('expected the request to fail');
}

describe('Http1Pool over TLS', () => {
  let ca: CertificateAuthority;
  let cert: PemPair;
  before(async () => {
    ca = await createCertificateAuthority();
    cert = await issueCertificate(ca, { name: 'node-1' });
  });

  it('sends method, target, headers and body, and reuses one connection for sequential requests', async () => {
    const s = await listen(cert, echo);
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      for (const size of [0, 10, 16 * 1024, 16 * 1024 + 1, 3 * 1024 * 1024]) {
        const body = Buffer.alloc(size, size % 251);
        const r = await pool.request(request(s.address, body, { 'x-custom': 'v' }));
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-method'], 'POST');
        assert.equal(r.headers['x-url'], '/v1/put/t/6b?x=1');
        assert.equal(r.headers['x-custom'], 'v');
        assert.ok(r.body.equals(body), `body of ${size} bytes`);
      }
      assert.equal(s.connections(), 1);
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('opens at most maxSockets connections and queues the rest', async () => {
    let inFlight = 0;
    let peak = 0;
    const s = await listen(cert, (req, body, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end(body);
      }, 5);
    });
    const pool = new Http1Pool({ caPem: ca.certPem, maxSockets: 3 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => pool.request(request(s.address, Buffer.from(`n${i}`)))),
      );
      answers.forEach((a, i) => assert.equal(a.body.toString(), `n${i}`));
      assert.equal(peak, 3);
      assert.equal(s.connections(), 3);
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('replaces connections the server closed while idle', async () => {
    const s = await listen(cert, echo, { keepAliveTimeout: 50 });
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      assert.equal((await pool.request(request(s.address, Buffer.from('a')))).body.toString(), 'a');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await pool.request(request(s.address, Buffer.from('b')))).body.toString(), 'b');
      assert.equal(s.connections(), 2);
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('closes the connection after a Connection: close response', async () => {
    const s = await listen(cert, (req, body, res) => {
      res.setHeader('connection', 'close');
      res.end(body);
    });
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      for (const word of ['x', 'y']) {
        assert.equal((await pool.request(request(s.address, Buffer.from(word)))).body.toString(), word);
      }
      assert.equal(s.connections(), 2);
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('says a refused connection was not sent', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      const e = await rejection(pool.request(request(`127.0.0.1:${port}`)));
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(e.sent, false);
    } finally {
      pool.close();
    }
  });

  it('refuses a server whose certificate the CA did not sign, before sending', async () => {
    const otherCa = await createCertificateAuthority();
    const s = await listen(await issueCertificate(otherCa, { name: 'node-9' }), echo);
    const pool = new Http1Pool({ caPem: ca.certPem });
    let served = 0;
    s.server.on('request', () => served++);
    try {
      const e = await rejection(pool.request(request(s.address, Buffer.from('secret'))));
      assert.equal(e.sent, false);
      assert.equal(served, 0);
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('times out a request without an answer, as possibly sent', async () => {
    const s = await listen(cert, () => {});
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      const e = await rejection(pool.request({ ...request(s.address), timeoutMs: 100 }));
      assert.equal(e.code, 'TIMEOUT');
      assert.equal(e.sent, true);
    } finally {
      pool.close();
      s.server.closeAllConnections();
      s.server.close();
    }
  });

  it('fails a request whose connection drops mid-response, as possibly sent, and recovers', async () => {
    let n = 0;
    const s = await listen(cert, (req, body, res) => {
      if (n++ === 0) {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 10);
      } else res.end(body);
    });
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      const e = await rejection(pool.request(request(s.address, Buffer.from('1'))));
      assert.equal(e.sent, true);
      assert.equal((await pool.request(request(s.address, Buffer.from('2')))).body.toString(), '2');
    } finally {
      pool.close();
      s.server.close();
    }
  });

  it('fails a garbled response as a protocol error', async () => {
    const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nbroken header\r\n\r\n'));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pool = new Http1Pool({ caPem: ca.certPem });
    try {
      const e = await rejection(
        pool.request(request(`127.0.0.1:${(server.address() as net.AddressInfo).port}`)),
      );
      assert.equal(e.code, 'PROTOCOL');
      assert.match(e.message, /bad header line/);
    } finally {
      pool.close();
      server.close();
    }
  });

  it('rejects requests on a closed pool, including queued ones', async () => {
    const s = await listen(cert, () => {});
    const pool = new Http1Pool({ caPem: ca.certPem, maxSockets: 1 });
    try {
      const first = pool.request({ ...request(s.address), timeoutMs: 10_000 });
      const queued = pool.request(request(s.address));
      await new Promise((r) => setTimeout(r, 50));
      pool.close();
      assert.equal((await rejection(queued)).code, 'CLOSED');
      await rejection(first);
      assert.equal((await rejection(pool.request(request(s.address)))).code, 'CLOSED');
    } finally {
      s.server.closeAllConnections();
      s.server.close();
    }
  });
});

const emptyRequest = () => ({
  server: 's:1',
  method: 'GET',
  target: '/',
  headers: {},
  body: Buffer.alloc(0),
});

describe('requestHead', () => {
  it('writes content-length itself, keeps a given host, and refuses what could split the message', () => {
    const head = requestHead({
      server: '127.0.0.1:1',
      method: 'GET',
      target: '/a?b=c',
      headers: { 'content-length': '99', 'x-a': 'b' },
      body: Buffer.from('xyz'),
    }).toString();
    assert.equal(head, 'GET /a?b=c HTTP/1.1\r\nhost: 127.0.0.1:1\r\ncontent-length: 3\r\nx-a: b\r\n\r\n');
    const relayed = requestHead({
      ...emptyRequest(),
      method: 'POST',
      headers: { Host: 'signed.example:6660' },
    });
    assert.equal(
      relayed.toString(),
      'POST / HTTP/1.1\r\nhost: signed.example:6660\r\ncontent-length: 0\r\n\r\n',
    );
    const base = emptyRequest();
    assert.throws(() => requestHead({ ...base, headers: { host: 'a\r\nx: y' } }), /bad header/);
    assert.throws(() => requestHead({ ...base, headers: { 'x-a': 'b\r\nx-b: c' } }), /bad header/);
    assert.throws(() => requestHead({ ...base, headers: { 'x a': 'b' } }), /bad header/);
    assert.throws(() => requestHead({ ...base, method: 'GET /' }), /bad method/);
    assert.throws(() => requestHead({ ...base, target: '/a b' }), /bad request target/);
  });
});
