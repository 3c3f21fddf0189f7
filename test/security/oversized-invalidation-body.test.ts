/**
 * Oversized invalidation and webhook bodies: refused with 413 before they are read in full (a
 * declared Content-Length over `flushBodyBytes` is refused before a byte is read; a chunked body
 * as soon as it passes the limit), the connection closed, nothing invalidated.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signBody } from '../../src/invalidation/signature.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'big-body-secret-0123456789';

describe('oversized invalidation bodies', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender(() => ({ headers: { 'content-type': 'text/html', 'surrogate-key': 'victim' }, body: 'page' }));
    fg = await startFarmgate(
      oneFarmYaml(render.url, {}, `invalidation:\n  api: { secret: "${SECRET}" }\n  webhooks:\n    - { name: g, kind: generic, secret: "${SECRET}" }\n`).replace(
        '  listen: "127.0.0.1:0"',
        '  listen: "127.0.0.1:0"\n  limits:\n    flushBodyBytes: 4096',
      ),
    );
    await fg.request('/content/site/p.html', { host: 'site.local' });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  /** Sends raw bytes and returns what came back before the server closed. */
  function raw(text: string): Promise<string> {
    const u = new URL(fg.url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname, () => socket.write(text));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
  }

  it('a declared Content-Length over the limit → 413 at once, whatever the signature', async () => {
    for (const p of ['/farmgate/v1/invalidate', '/farmgate/v1/webhooks/g']) {
      const reply = await raw(`POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"tags":["victim"`);
      assert.match(reply, /^HTTP\/1\.1 413 /, p);
      assert.match(reply, /connection: close/i);
      assert.doesNotMatch(reply, /x-cache/i);
    }
  });

  it('a chunked body that passes the limit → 413, even signed', async () => {
    const body = JSON.stringify({ tags: ['victim'], pad: 'x'.repeat(5000) });
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const reply = await raw(`POST /farmgate/v1/invalidate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Farmgate-Signature: ${signBody(body, SECRET)}\r\n\r\n${chunked}`);
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.equal((await fg.request('/content/site/p.html', { host: 'site.local' })).headers.get('x-cache'), 'HIT', 'nothing invalidated');
  });

  it('a body just under the limit is read and applied', async () => {
    const body = JSON.stringify({ tags: ['victim'], paths: [] , action: 'Activate' });
    const res = await fg.request('/farmgate/v1/invalidate', { method: 'POST', headers: { 'X-Farmgate-Signature': signBody(body, SECRET) }, body });
    assert.equal(res.status, 200);
  });
});
