/**
 * HEAD response desync: a response to HEAD must not carry a body (RFC 9110 §9.3.2). A server that
 * writes one anyway (here: the plain-text reason of an error) leaves those bytes on a kept-alive
 * connection, where the client reads them as the start of its next response; behind a proxy that
 * reuses upstream connections this is a response-splitting primitive. Every error path of both
 * listeners is sent a HEAD followed by a GET on the same connection: the bytes after the HEAD
 * response's headers must be the next status line, nothing else. Requests the HTTP parser refuses
 * (`HEAD \tmp\x.html`, oversized headers) close the connection: nothing may follow their headers.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

/** Sends raw bytes, reads until the server closes. */
function exchange(baseUrl: string, bytes: string): Promise<string> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.write(bytes));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

/** The first response's status and what follows its header block. */
function firstResponse(raw: string): { status: number; headers: string; rest: string } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete response in ${JSON.stringify(raw.slice(0, 200))}`);
  const head = raw.slice(0, end);
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]), headers: head, rest: raw.slice(end + 4) };
}

describe('HEAD responses never carry a body, on any error path', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    const yaml = oneFarmYaml(render.url)
      .replace('  listen: "127.0.0.1:0"', '  listen: "127.0.0.1:0"\n  adminToken: "s3cret-token"\n  limits:\n    headerBytes: 4096\n    urlBytes: 512')
      .replace('  allowedClients: ["127.0.0.1", "::1"]', '  allowedClients: ["127.0.0.1", "::1"]\n  unrouted: reject')
      .replace('    cache:\n', '    filter:\n      - allow: { path: "/**" }\n      - deny: { path: "/content/secret/**" }\n    cache:\n');
    fg = await startFarmgate(yaml, { admin: true });
    // A farm whose only render is unreachable: its errors are 502s.
    await render.close();
  });
  after(() => fg.close());

  const publicCases: [string, string, number][] = [
    ['a traversal path', 'HEAD /content/../etc/passwd HTTP/1.1\r\nHost: site.local\r\n', 400],
    ['an encoded slash', 'HEAD /content%2f..%2fx.html HTTP/1.1\r\nHost: site.local\r\n', 400],
    ['an unknown host', 'HEAD /content/a.html HTTP/1.1\r\nHost: nobody.local\r\n', 404],
    ['an internal name', 'HEAD /content/.stat HTTP/1.1\r\nHost: site.local\r\n', 404],
    ['a filtered path', 'HEAD /content/secret/a.html HTTP/1.1\r\nHost: site.local\r\n', 404],
    ['a URL over urlBytes', `HEAD /content/${'x'.repeat(600)}.html HTTP/1.1\r\nHost: site.local\r\n`, 414],
    ['an unreachable render', 'HEAD /content/a.html HTTP/1.1\r\nHost: site.local\r\n', 502],
    ['a flush with a bad action', 'HEAD /dispatcher/invalidate.cache HTTP/1.1\r\nHost: x\r\nCQ-Action: Explode\r\nCQ-Handle: /content/a\r\n', 400],
    ['a flush with a traversal handle', 'HEAD /dispatcher/invalidate.cache HTTP/1.1\r\nHost: x\r\nCQ-Handle: /content/../etc\r\n', 400],
    ['an unrouted flush (reject)', 'HEAD /dispatcher/invalidate.cache HTTP/1.1\r\nHost: x\r\nCQ-Handle: /elsewhere/a\r\n', 404],
  ];
  for (const [name, request, status] of publicCases) {
    it(`public listener: ${name} → ${status}, no body, the next response intact`, async () => {
      const raw = await exchange(fg.url, `${request}\r\nGET /content/.stat HTTP/1.1\r\nHost: site.local\r\nConnection: close\r\n\r\n`);
      const r = firstResponse(raw);
      assert.equal(r.status, status, r.headers);
      assert.match(r.rest, /^HTTP\/1\.1 404 /, `bytes after the HEAD response: ${JSON.stringify(r.rest.slice(0, 80))}`);
    });
  }

  const refused: [string, string, number][] = [
    ['a request line the parser refuses (HEAD \\tmp\\x.html)', 'HEAD \\tmp\\x.html HTTP/1.1\r\nHost: site.local\r\n\r\n', 400],
    ['headers over headerBytes', `HEAD /content/a.html HTTP/1.1\r\nHost: site.local\r\nX-Big: ${'a'.repeat(6000)}\r\n\r\n`, 431],
  ];
  for (const [name, request, status] of refused) {
    it(`public listener: ${name} → ${status} and nothing after the headers`, async () => {
      const r = firstResponse(await exchange(fg.url, request));
      assert.equal(r.status, status, r.headers);
      assert.equal(r.rest, '');
      assert.match(r.headers, /\r\nContent-Length: 0\r\n|\r\nConnection: close/);
    });
  }
  it('public listener: a GET the parser refuses still gets its plain-text reason', async () => {
    const r = firstResponse(await exchange(fg.url, 'GET \\tmp\\x.html HTTP/1.1\r\nHost: site.local\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.equal(r.rest, '400 malformed request\n');
  });

  const adminCases: [string, string, number][] = [
    ['an unknown path', 'HEAD /nope HTTP/1.1\r\nHost: x\r\n', 404],
    ['/admin without the token', 'HEAD /admin HTTP/1.1\r\nHost: x\r\n', 401],
    ['/admin/api without the token', 'HEAD /admin/api/farms HTTP/1.1\r\nHost: x\r\n', 401],
  ];
  for (const [name, request, status] of adminCases) {
    it(`admin listener: ${name} → ${status}, no body, the next response intact`, async () => {
      const raw = await exchange(fg.adminUrl!, `${request}\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const r = firstResponse(raw);
      assert.equal(r.status, status, r.headers);
      assert.match(r.rest, /^HTTP\/1\.1 200 /, `bytes after the HEAD response: ${JSON.stringify(r.rest.slice(0, 80))}`);
    });
  }
  it('admin listener: a request the parser refuses → 400, no body for HEAD', async () => {
    const r = firstResponse(await exchange(fg.adminUrl!, 'HEAD \\x HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.equal(r.rest, '');
  });
});
