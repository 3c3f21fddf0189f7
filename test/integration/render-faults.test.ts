/**
 * Render faults: a render that lies about Content-Length, sends a garbage status line, or
 * drips slower than its timeout. The client gets a clean error or the stale copy; nothing
 * partial is ever cached.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testClock } from '../helpers/clock.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { waitFor } from '../helpers/wait.js';

/** A render speaking raw bytes: each path maps to what is written on the socket. */
async function rawRender(replies: Record<string, (socket: net.Socket) => void>) {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (d) => {
      head += d;
      if (!head.includes('\r\n\r\n')) return;
      const p = head.split(' ')[1] ?? '/';
      head = '';
      (replies[p] ?? ((s) => s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')))(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('render faults', () => {
  let render: Awaited<ReturnType<typeof rawRender>>;
  let fg: TestFarmgate;
  let goodCalls = 0;
  const clock = testClock();
  before(async () => {
    render = await rawRender({
      '/content/short.html': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\nonly part of it'),
      '/content/garbage.html': (s) => s.end('HTTP/1.1 abc Whatever\r\n\r\n'),
      '/content/notHttp.html': (s) => s.end('SSH-2.0-OpenSSH\r\n'),
      '/content/drip.html': (s) => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst');
        setTimeout(() => s.end('x'.repeat(95)), 1500);
      },
      '/content/stale.html': (s) => {
        goodCalls++;
        if (goodCalls === 1) s.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood');
        else s.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\ncut');
      },
    });
    fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20, serveStaleOnError: true }).replace('timeoutMs: 2000', 'timeoutMs: 500'), {
      now: clock.now,
    });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  const get = (p: string) => fg.request(p, { host: 'site.local' }).then(async (r) => ({ status: r.status, cache: r.headers.get('x-cache'), body: await r.text() }));
  const cached = (p: string) => fs.stat(path.join(fg.docroot('site'), p)).then(() => true, () => false);

  it('a short body (wrong Content-Length) cuts the client off and caches nothing', async () => {
    await assert.rejects(get('/content/short.html'));
    assert.equal(await cached('/content/short.html'), false);
  });

  it('a garbage status line → 502 with a reason', async () => {
    for (const p of ['/content/garbage.html', '/content/notHttp.html']) {
      const r = await get(p);
      assert.equal(r.status, 502, p);
      assert.match(r.body, /render/);
      assert.equal(await cached(p), false);
    }
  });

  it('a drip slower than timeoutMs between bytes is cut off; nothing cached', async () => {
    await assert.rejects(get('/content/drip.html'));
    // The client is cut off first; the aborted write then closes and removes its temporary file.
    const temp = async () => (await fs.readdir(path.join(fg.docroot('site'), 'content')).catch(() => [] as string[])).filter((n) => n.startsWith('.fgtmp-'));
    await waitFor('the aborted write to remove its temporary file', async () => (await temp()).length === 0);
    assert.equal(await cached('/content/drip.html'), false);
  });

  it('the stale copy survives a broken re-fetch', async () => {
    assert.equal((await get('/content/stale.html')).body, 'good');
    // Another process touches a .stat newer than the copy; farmgate notices it once its check
    // interval has passed on its clock.
    const stat = path.join(fg.docroot('site'), 'content/.stat');
    await fs.writeFile(stat, '');
    const later = new Date(clock.now() + 1000);
    await fs.utimes(stat, later, later);
    clock.advance(2000);
    await assert.rejects(get('/content/stale.html'));
    assert.equal(await fs.readFile(path.join(fg.docroot('site'), 'content/stale.html'), 'utf8'), 'good', 'the good copy was not overwritten');
  });
});
