/**
 * Tag header flooding: a render (or whatever answers as one) floods the tag headers. Tags past
 * 1,000 per file and tags over 1,024 bytes are dropped by rule, logged and counted; the page is
 * still cached and served; the flood never reaches the client (nor a front server's header
 * buffers); the index stays bounded per file.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

describe('tag header flooding', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  const logs: { msg: string; [k: string]: unknown }[] = [];
  before(async () => {
    // ~13 KB of tags: under the 16 KB response-header limit of the render connection.
    const flood = Array.from({ length: 2200 }, (_, i) => `t${i}`).join(' ');
    render = await startRender((req): { headers: Record<string, string>; body: string } => {
      if (req.url === '/content/site/flood.html') return { headers: { 'content-type': 'text/html', 'surrogate-key': `first ${flood}`, xkey: 'x'.repeat(1500) }, body: 'flooded' };
      if (req.url === '/content/site/many.html') return { headers: { 'content-type': 'text/html', 'surrogate-key': Array(40).fill('dup dup,dup').join(' '), 'cache-tag': ['a', 'b', 'a'].join(',') }, body: 'dups' };
      return { headers: { 'content-type': 'text/html' }, body: 'plain' };
    });
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l));
        cb();
      },
    });
    fg = await startFarmgate(oneFarmYaml(render.url), { log: pino({ level: 'info' }, sink), admin: true });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('keeps the first 1,000 tags, drops the rest and the oversized one, logs it, and still caches the page', async () => {
    const res = await fg.request('/content/site/flood.html', { host: 'site.local' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'flooded');
    assert.equal(res.headers.get('surrogate-key'), null, 'the flood does not reach the client');
    assert.equal(res.headers.get('xkey'), null);
    assert.equal((await fg.request('/content/site/flood.html', { host: 'site.local' })).headers.get('x-cache'), 'HIT');
    const tags = fg.app.runtime().tagsFor(fg.app.runtime().farms[0]!).tagsOf('/content/site/flood.html')!;
    assert.equal(tags.length, 1000);
    assert.equal(tags[0], 'first');
    const line = logs.find((l) => l.msg.startsWith('tags dropped'));
    assert.ok(line, 'logged');
    assert.equal(line.overLimit, 1201);
    assert.equal(line.invalid, 1);
    const metrics = await (await fetch(`${fg.adminUrl}/metrics`)).text();
    assert.match(metrics, /farmgate_tags_dropped_total\{farm="site",reason="too-many"\} 1201/);
  });

  it('repeated tags count once', async () => {
    await fg.request('/content/site/many.html', { host: 'site.local' });
    assert.deepEqual(fg.app.runtime().tagsFor(fg.app.runtime().farms[0]!).tagsOf('/content/site/many.html'), ['dup', 'a', 'b']);
  });
});
