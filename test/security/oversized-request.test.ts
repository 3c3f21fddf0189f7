/**
 * Oversized requests: a client sending huge headers or a huge URL must get a clear 431/414 and
 * never reach a render (the limits of contract section 2, `server.limits`).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, rawRequest, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

describe('oversized requests', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    fg = await startFarmgate(oneFarmYaml(render.url).replace('  listen: "127.0.0.1:0"', '  listen: "127.0.0.1:0"\n  limits:\n    headerBytes: 4096\n    urlBytes: 512'));
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('headers larger than headerBytes → 431 in plain text', async () => {
    const u = new URL(fg.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname, () => {
        socket.write(`GET /content/a.html HTTP/1.1\r\nHost: site.local\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 431 /);
    assert.match(reply, /request headers too large/);
    assert.equal(render.requests.length, 0);
  });

  it('a URL longer than urlBytes → 414', async () => {
    const r = await rawRequest(fg.url, '/content/' + 'x'.repeat(600) + '.html', { host: 'site.local' });
    assert.equal(r.status, 414);
    assert.equal(r.headers['x-cache'], 'PASS');
    assert.equal(render.requests.length, 0);
  });

  it('a malformed request line → 400 and the server stays up', async () => {
    const u = new URL(fg.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(u.port), u.hostname, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
    });
    assert.match(reply, /^HTTP\/1\.1 400 /);
    const ok = await rawRequest(fg.url, '/content/a.html', { host: 'site.local' });
    assert.equal(ok.status, 200);
  });
});
