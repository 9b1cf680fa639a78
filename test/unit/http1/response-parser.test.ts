import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Http1ParseError, Http1ResponseParser } from '../../../shared/http1/response-parser.ts';
import type { Http1Response } from '../../../shared/http1/response-parser.ts';

/** Feeds `wire` cut at the given offsets; returns the response (from push or from end()). */
function parse(
  wire: Buffer,
  cuts: number[] = [],
  opts: { head?: boolean; ended?: boolean } = {},
): Http1Response {
  const p = new Http1ResponseParser();
  p.expect(opts.head ?? false);
  let done: Http1Response | undefined;
  let from = 0;
  for (const at of [...cuts.filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b), wire.length]) {
    const r = p.push(wire.subarray(from, at));
    from = at;
    if (r) {
      assert.equal(done, undefined, 'one response only');
      done = r;
    }
  }
  if (opts.ended) done ??= p.end();
  assert.ok(done, 'response complete');
  assert.equal(p.busy, false);
  return done;
}

const fixed = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-S3db-Leader: 127.0.0.1:6660\r\n' +
    'Content-Length: 13\r\n\r\n{"version":7}',
);
const chunked = Buffer.from(
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n',
);

describe('Http1ResponseParser', () => {
  it('parses a Content-Length response at every split point', () => {
    for (let i = 0; i <= fixed.length; i++) {
      const r = parse(fixed, [i]);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-s3db-leader'], '127.0.0.1:6660');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.body.toString(), '{"version":7}');
      assert.equal(r.keepAlive, true);
    }
  });

  it('parses a chunked response at every pair of split points, dropping trailers', () => {
    for (let i = 0; i <= chunked.length; i++) {
      for (let j = i; j <= chunked.length; j += 3) {
        const r = parse(chunked, [i, j]);
        assert.equal(r.body.toString(), 'hello, world');
        assert.equal(r.headers['x-trailer'], undefined);
      }
    }
  });

  it('parses any body sent with either framing, cut anywhere', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 6 }),
        fc.array(fc.nat({ max: 4000 }), { maxLength: 8 }),
        (body, chunkSizes, cuts) => {
          const b = Buffer.from(body);
          const withLength = Buffer.concat([
            Buffer.from(`HTTP/1.1 201 Created\r\ncontent-length: ${b.length}\r\n\r\n`),
            b,
          ]);
          assert.deepEqual(parse(withLength, cuts).body, b);
          const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n')];
          let at = 0;
          for (let k = 0; at < b.length; k++) {
            const n = Math.min(chunkSizes[k % Math.max(1, chunkSizes.length)] ?? 500, b.length - at);
            parts.push(Buffer.from(`${n.toString(16)}\r\n`), b.subarray(at, at + n), Buffer.from('\r\n'));
            at += n;
          }
          parts.push(Buffer.from('0\r\n\r\n'));
          assert.deepEqual(parse(Buffer.concat(parts), cuts).body, b);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads a body without length until the connection ends, and then closes', () => {
    const wire = Buffer.from('HTTP/1.1 200 OK\r\n\r\nall of it');
    const r = parse(wire, [20], { ended: true });
    assert.equal(r.body.toString(), 'all of it');
    assert.equal(r.keepAlive, false);
  });

  it('skips interim 1xx responses', () => {
    const wire = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}',
    );
    const r = parse(wire, [10]);
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), '{}');
  });

  it('gives no body to HEAD, 204 and 304 responses', () => {
    assert.equal(
      parse(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n'), [], { head: true }).body.length,
      0,
    );
    assert.equal(parse(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n')).body.length, 0);
    assert.equal(parse(Buffer.from('HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n')).body.length, 0);
  });

  it('honours Connection: close and HTTP/1.0 keep-alive', () => {
    assert.equal(
      parse(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n')).keepAlive,
      false,
    );
    assert.equal(parse(Buffer.from('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n')).keepAlive, false);
    assert.equal(
      parse(Buffer.from('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 0\r\n\r\n')).keepAlive,
      true,
    );
  });

  it('joins repeated header fields', () => {
    const r = parse(Buffer.from('HTTP/1.1 200 OK\r\nVia: a\r\nvia: b\r\ncontent-length: 0\r\n\r\n'));
    assert.equal(r.headers['via'], 'a, b');
  });

  it('rejects malformed responses with a parse error', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 2000 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\n folded: value\r\n\r\n',
      'HTTP/1.1 200 OK\r\nbad name: v\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXY',
    ];
    for (const wire of bad) {
      const p = new Http1ResponseParser();
      p.expect();
      assert.throws(() => p.push(Buffer.from(wire)), Http1ParseError, wire);
    }
  });

  it('rejects bytes beyond the response and bytes nobody asked for', () => {
    const p = new Http1ResponseParser();
    assert.throws(() => p.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /no response was expected/);
    p.expect();
    assert.throws(
      () => p.push(Buffer.concat([fixed, Buffer.from('HTTP/1.1')])),
      /bytes received after the response/,
    );
  });

  it('enforces the head and body limits', () => {
    const p = new Http1ResponseParser({ maxHeaderBytes: 100, maxBodyBytes: 10 });
    p.expect();
    assert.throws(() => p.push(Buffer.from(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(200)}`)), /larger than 100/);
    const q = new Http1ResponseParser({ maxBodyBytes: 10 });
    q.expect();
    assert.throws(() => q.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n')), /exceeds 10/);
    const c = new Http1ResponseParser({ maxBodyBytes: 10 });
    c.expect();
    assert.throws(
      () =>
        c.push(
          Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef'),
        ),
      /exceeds 10/,
    );
  });

  it('reports a response cut short by the end of the connection', () => {
    for (const wire of [
      '',
      'HTTP/1.1 200 OK\r\ncontent-le',
      'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab',
    ]) {
      const p = new Http1ResponseParser();
      p.expect();
      p.push(Buffer.from(wire));
      assert.throws(() => p.end(), Http1ParseError, wire);
    }
    const idle = new Http1ResponseParser();
    assert.equal(idle.end(), undefined);
  });
});
