/**
 * `farmgate warm` against a real farmgate and a real render: every URL reaches the render once,
 * after which the pages are HITs; failures are listed and make the exit code 1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baseFromListen, warmCommand } from '../../src/cli/warm.js';
import { parseSitemap } from '../../src/warm/sitemap.js';
import { runCli } from '../helpers/cli-io.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

let render: TestRender;
let fg: TestFarmgate;
let config: string;

before(async () => {
  render = await startRender();
  fg = await startFarmgate(oneFarmYaml(render.url));
  config = path.join(fg.dir, 'farmgate.yaml');
});
after(async () => {
  await fg.close();
  await render.close();
});

const warm = (...args: string[]) => runCli(warmCommand, ['warm', '--config', config, '--base', fg.url, ...args]);

async function file(name: string, text: string): Promise<string> {
  const f = path.join(fg.dir, name);
  await fs.writeFile(f, text);
  return f;
}

async function assertHit(p: string) {
  const res = await fg.request(p, { host: 'site.local' });
  assert.equal(res.headers.get('x-cache'), 'HIT', p);
  await res.text();
}

describe('farmgate warm --urls', () => {
  it('absolute URLs and paths with --host: one render request per URL, then HITs; a second run is all hits', async () => {
    const list = await file('urls.txt', '# pages to prime\nhttp://site.local/content/w/a.html\n\n/content/w/b.html\n  /content/w/c.html  \n');
    const r = await warm('--urls', list, '--host', 'site.local');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^3 urls: 0 hit, 3 miss, 0 pass, 0 not warmed in \d+\.\ds\n$/);
    for (const p of ['/content/w/a.html', '/content/w/b.html', '/content/w/c.html']) {
      assert.equal(render.count(p), 1, p);
      await assertHit(p);
    }
    const again = await warm('--urls', list, '--host', 'site.local');
    assert.match(again.out, /^3 urls: 3 hit, 0 miss, 0 pass, 0 not warmed/);
    assert.equal(render.count('/content/w/a.html'), 1);
  });

  it('sends the Host header of each absolute URL (an unknown host is a 404 failure)', async () => {
    const list = await file('hosts.txt', 'http://site.local/content/h/ok.html\nhttp://other.local/content/h/x.html\n');
    const r = await warm('--urls', list);
    assert.equal(r.code, 1);
    assert.match(r.out, /2 urls: 0 hit, 1 miss, 0 pass, 1 not warmed \(1 failed\)/);
    assert.match(r.err, /failed http:\/\/other\.local\/content\/h\/x\.html: HTTP 404\n/);
    assert.equal(render.count('/content/h/x.html'), 0);
  });

  it('render failures are listed, exit 1, and say what to do', async () => {
    render.route('/content/f/broken.html', { status: 500, body: 'boom' });
    const list = await file('fail.txt', 'http://site.local/content/f/ok.html\nhttp://site.local/content/f/broken.html\n');
    const r = await warm('--urls', list);
    assert.equal(r.code, 1);
    assert.match(r.err, /failed http:\/\/site\.local\/content\/f\/broken\.html: HTTP 500/);
    assert.match(r.err, /1 URL failed: check the render/);
    await assertHit('/content/f/ok.html');
  });

  it('every input line is counted: the summary adds up to the lines of the list', async () => {
    render.route('/content/n/broken.html', { status: 503, body: 'down' });
    const lines = [
      'http://site.local/content/n/1.html',
      'http://site.local/content/n/2.html',
      'http://site.local/content/n/3.html',
      'http://site.local/content/n/4.html',
      'http://site.local/content/n/5.html',
      'ftp://site.local/content/n/6.html',
      'http://site.local/content/n/broken.html',
    ];
    const r = await warm('--urls', await file('seven.txt', '# seven entries\n' + lines.join('\n') + '\n'));
    assert.equal(r.code, 1);
    assert.match(r.out, /^7 urls: 0 hit, 5 miss, 0 pass, 2 not warmed \(1 invalid, 1 failed\) in /);
    assert.match(r.err, /seven\.txt:7: expected an absolute URL/);
    assert.match(r.err, /failed http:\/\/site\.local\/content\/n\/broken\.html: HTTP 503/);
    assert.match(r.err, /1 entry is not a usable URL \(listed above\): fix .*seven\.txt/);
  });

  it('a path without --host: exit 1 before any request, naming the line', async () => {
    const list = await file('paths.txt', 'http://site.local/content/p/a.html\n/content/p/b.html\n');
    const r = await warm('--urls', list);
    assert.equal(r.code, 1);
    assert.match(r.err, /paths\.txt:2: \/content\/p\/b\.html is a path: give --host HOST/);
  });

  it('at most --concurrency requests in flight', async () => {
    let inFlight = 0;
    let max = 0;
    // Each answer waits until a second request is in flight (a pair), so overlap is certain, not
    // a matter of timing: more than 2 at once would show in `max`.
    let waiting: (() => void)[] = [];
    for (let i = 0; i < 6; i++) {
      render.route(`/content/c/${i}.html`, async () => {
        max = Math.max(max, ++inFlight);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) [waiting, waiting = []][0]!.forEach((w) => w());
        });
        inFlight--;
        return { headers: { 'content-type': 'text/html' }, body: `<p>${i}</p>` };
      });
    }
    const list = await file('conc.txt', Array.from({ length: 6 }, (_, i) => `http://site.local/content/c/${i}.html`).join('\n'));
    const r = await warm('--urls', list, '--concurrency', '2');
    assert.equal(r.code, 0, r.err);
    assert.equal(max, 2);
  });

  it('a progress bar on a TTY (\\r updates on stderr)', async () => {
    const list = await file('tty.txt', 'http://site.local/content/t/a.html\nhttp://site.local/content/t/b.html\n');
    const r = await runCli((p, io) => warmCommand(p, io, { progress: true }), ['warm', '--config', config, '--base', fg.url, '--urls', list]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^\[-{30}\] 0\/2  hit 0 miss 0 err 0\r\[#{15}-{15}\] 1\/2 .*\r\[#{30}\] 2\/2  hit 0 miss 2 err 0\n$/);
  });
});

describe('farmgate warm --sitemap', () => {
  before(() => {
    render.route('/sitemap-news.xml', {
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://site.local/content/s/news.html</loc></url></urlset>',
    });
  });

  it('a sitemap index (one file, one URL fetched through farmgate) → every page once, then HITs', async () => {
    await file(
      'sitemap-pages.xml',
      `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>http://site.local/content/s/a.html</loc><image:image><image:loc>http://site.local/content/dam/s/a.png</image:loc></image:image></url>
  <!-- <url><loc>http://site.local/content/s/commented.html</loc></url> -->
  <url><loc><![CDATA[http://site.local/content/s/b&c.html]]></loc></url>
  <url><loc>
    http://site.local/content/s/d&amp;e.html
  </loc><lastmod>2026-01-01</lastmod></url>
</urlset>`,
    );
    const index = await file(
      'sitemap.xml',
      `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>sitemap-pages.xml</loc></sitemap>
  <sitemap><loc>http://site.local/sitemap-news.xml</loc></sitemap>
</sitemapindex>`,
    );
    const r = await warm('--sitemap', index);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^4 urls: 0 hit, 4 miss, 0 pass, 0 not warmed/);
    for (const p of ['/content/s/a.html', '/content/s/b&c.html', '/content/s/d&e.html', '/content/s/news.html']) {
      assert.equal(render.count(p), 1, p);
      await assertHit(p);
    }
    assert.equal(render.count('/content/dam/s/a.png'), 0, 'image:loc is not a page');
    assert.equal(render.count('/content/s/commented.html'), 0);
  });

  it('a sitemap URL is read through farmgate; an unreadable one fails with exit 1', async () => {
    const ok = await warm('--sitemap', 'http://site.local/sitemap-news.xml');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /1 url: 1 hit/);
    const bad = await warm('--sitemap', 'http://nowhere.local/sitemap.xml');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /http:\/\/nowhere\.local\/sitemap\.xml: cannot read the sitemap: HTTP 404/);
    assert.match(bad.err, /error: no URL to warm/);
  });
});

describe('farmgate warm: usage', () => {
  it('needs exactly one of --urls and --sitemap', async () => {
    const r = await runCli(warmCommand, ['warm', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(r.err, /give exactly one of --urls FILE or --sitemap FILE_OR_URL/);
  });

  it('without --base, a config listening on port 0 says to pass --base', async () => {
    const list = await file('one.txt', 'http://site.local/x.html\n');
    const r = await runCli(warmCommand, ['warm', '--config', config, '--urls', list]);
    assert.equal(r.code, 1);
    assert.match(r.err, /port 0 .*pass --base/);
  });

  it('a bad --concurrency, and --help', async () => {
    const r = await warm('--urls', 'x', '--concurrency', '0');
    assert.match(r.err, /--concurrency expects a whole number from 1 to 256/);
    const help = await runCli(warmCommand, ['warm', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: farmgate warm \[options\]/);
    assert.match(help.out, /Never flush a live site without priming/);
  });

  it('baseFromListen', () => {
    assert.equal(baseFromListen('127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(baseFromListen('0.0.0.0:80'), 'http://127.0.0.1:80');
    assert.equal(baseFromListen('[::]:8080'), 'http://[::1]:8080');
    assert.equal(baseFromListen('8080'), 'http://127.0.0.1:8080');
  });

  it('parseSitemap refuses what is not a sitemap', () => {
    assert.throws(() => parseSitemap('<html><loc>x</loc></html>'), /not a sitemap/);
    assert.deepEqual(parseSitemap('<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:url><sm:loc>http://a/x</sm:loc></sm:url></sm:urlset>'), {
      kind: 'urlset',
      locs: ['http://a/x'],
    });
  });
});
