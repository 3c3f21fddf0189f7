/**
 * Slowloris: clients that send request headers or a flush body a trickle at a time, to hold
 * sockets open forever. They are cut off after `server.limits.headersTimeoutMs` while other
 * clients are still answered.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, rawRequest, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { sleep, startRender, type TestRender } from '../helpers/render.js';

function trickle(
  url: string,
  head: string,
  everyMs: number,
): { connected: Promise<void>; closedAfter: Promise<number>; reply: () => string; stop: () => void } {
  const u = new URL(url);
  const started = Date.now();
  let data = '';
  const socket = net.connect(Number(u.port), u.hostname);
  socket.on('data', (d) => (data += d));
  socket.on('error', () => {});
  // Resolves once the partial head is written to the connected socket: the server holds it now.
  const connected = new Promise<void>((resolve) => socket.write(head, () => resolve()));
  const timer = setInterval(() => socket.writable && socket.write('x'), everyMs);
  const closedAfter = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  void closedAfter.then(() => clearInterval(timer));
  return { connected, closedAfter, reply: () => data, stop: () => (clearInterval(timer), socket.destroy()) };
}

describe('slowloris', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    fg = await startFarmgate(oneFarmYaml(render.url).replace('  listen: "127.0.0.1:0"', '  listen: "127.0.0.1:0"\n  limits:\n    headersTimeoutMs: 1000'));
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('partial headers are cut off after headersTimeoutMs while others are answered', async () => {
    const slow = Array.from({ length: 20 }, () => trickle(fg.url, 'GET /content/a.html HTTP/1.1\r\nHost: site.local\r\nX-Slow: ', 100));
    await Promise.all(slow.map((s) => s.connected));
    const ok = await rawRequest(fg.url, '/content/a.html', { host: 'site.local' });
    assert.equal(ok.status, 200, 'other clients are answered meanwhile');
    const times = await Promise.race([Promise.all(slow.map((s) => s.closedAfter)), sleep(5000).then(() => undefined)]);
    slow.forEach((s) => s.stop());
    assert.ok(times, 'every slow client was cut off');
    for (const t of times) assert.ok(t >= 900 && t < 3500, `cut off after ${t} ms`);
    assert.match(slow[0]!.reply(), /^HTTP\/1\.1 408 |^$/);
  });

  it('a flush body that trickles in is refused with 408 and touches nothing', async () => {
    const head =
      'POST /dispatcher/invalidate.cache HTTP/1.1\r\nHost: x\r\nCQ-Action: Activate\r\nCQ-Handle: /content/a\r\n' +
      'Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n/content/a.html\n';
    const slow = trickle(fg.url, head, 100);
    const closedAfter = await Promise.race([slow.closedAfter, sleep(5000).then(() => -1)]);
    slow.stop();
    assert.ok(closedAfter > 0 && closedAfter < 3500, `closed after ${closedAfter} ms`);
    assert.match(slow.reply(), /^HTTP\/1\.1 408 /);
    assert.match(slow.reply(), /flush body not received within 1000 ms/);
  });
});
