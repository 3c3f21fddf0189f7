/**
 * The admin page in a real browser (playwright-core driving Debian's /usr/bin/chromium): two
 * servers of a web farm on a real redis-server; the page lists the farms and the servers, a
 * flush sent from its form appears in the recent list (on both servers), hold and release
 * change the server's state. A screenshot is saved under test-output/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { farmServer, waitFor as waitForCheck, type FarmServer } from '../../support/web-farm.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

/** The page reloads itself after a form or button; a reload of ours racing it is retried. */
async function reload(page: Page): Promise<void> {
  try {
    await page.reload();
  } catch {
    await page.waitForLoadState('load').catch(() => {});
  }
}

/** waitFor, where a check that meets a page in mid-navigation counts as "not yet". */
const waitFor = (what: string, check: () => Promise<boolean>) =>
  waitForCheck(what, () => check().catch(() => false), 10_000);

describe('admin page in a browser', () => {
  let redis: TestRedis;
  let web1: FarmServer;
  let web2: FarmServer;
  let browser: Browser;
  before(async () => {
    if (!existsSync(CHROMIUM)) assert.fail('chromium is not installed: apt-get install chromium (.ci/run does)');
    redis = await startRedis();
    const stream = `admin-page-${Date.now()}`;
    web1 = await farmServer('web1', redis.url, { stream });
    web2 = await farmServer('web2', redis.url, { stream });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await web1?.destroy();
    await web2?.destroy();
    await redis?.stop();
  });

  it('shows a cached file’s tags and the files carrying a tag (issue 15)', { timeout: 30_000 }, async () => {
    const rt = web1.app.runtime();
    const farm = rt.farms.find((f) => f.name === 'site-a')!;
    const w = rt.cacheFor(farm).beginWrite('/content/site-a/tagged.html', Date.now() - 1000);
    w.write(Buffer.from('<html>tagged</html>'));
    assert.equal(await w.commit({ headers: [['content-type', 'text/html']], ttlExpiresMs: undefined, tags: ['product-42', 'nav'] }), true);
    const page = await browser.newPage();
    await page.goto(`${web1.adminUrl}/admin`);
    await page.fill('#tags-form input[name="path"]', '/content/site-a/tagged.html');
    await page.click('#tags-form button');
    await page.waitForSelector('#tags-result:not([hidden])');
    assert.match((await page.locator('#tags-result').textContent())!, /farm site-a: product-42 nav/);
    await page.fill('#tags-form input[name="path"]', '');
    await page.fill('#tags-form input[name="tag"]', 'product-42');
    await page.click('#tags-form button');
    await waitFor('tag lookup shown', async () => /1 cached file carry product-42\s+\/content\/site-a\/tagged\.html/.test((await page.locator('#tags-result').textContent()) ?? ''));
    await page.close();
  });

  it('recent flushes show refused, Test and unrouted flushes with the reason (issue 14)', { timeout: 30_000 }, async () => {
    const send = (headers: Record<string, string>, localAddress = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(web1.url);
        const req = http.request({ host: u.hostname, port: u.port, path: '/dispatcher/invalidate.cache', method: 'POST', localAddress, headers, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await send({ 'CQ-Handle': '/content/site-a/en/not-updated' }, '127.0.0.2'), 403);
    assert.equal(await send({ 'CQ-Action': 'Purge', 'CQ-Handle': '/content/site-a/en/not-updated' }), 400);
    assert.equal(await send({ 'CQ-Action': 'Test', 'CQ-Handle': '/content/site-a/en' }), 200);
    assert.equal(await send({ 'CQ-Handle': '/content/site-c/en/page' }), 200);
    const page = await browser.newPage();
    await page.goto(`${web1.adminUrl}/admin`);
    const row = (sel: string) => page.locator(`#flushes tr${sel}`).first().innerText();
    assert.match(await row('[data-outcome="refused"][data-status="403"]'), /127\.0\.0\.2[\s\S]*\/content\/site-a\/en\/not-updated[\s\S]*refused · 403: flush not allowed from 127\.0\.0\.2/);
    assert.match(await row('[data-outcome="refused"][data-status="400"]'), /Purge[\s\S]*refused · 400: unknown CQ-Action "Purge"/);
    assert.match(await row('[data-outcome="test"]'), /Test[\s\S]*site-a[\s\S]*Test: nothing done/);
    assert.match(await row('[data-outcome="unrouted"]'), /\/content\/site-c\/en\/page[\s\S]*unrouted[\s\S]*no farm routes CQ-Path \/content\/site-c\/en\/page/);
    await page.close();
  });

  it('lists farms and servers, flushes from its form, holds and releases', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(`${web1.adminUrl}/admin`);
    assert.equal(await page.locator('h1').textContent(), 'farmgate');
    assert.equal(await page.locator('#farms tr[data-farm]').count(), 2);
    assert.match((await page.locator('#farms tr[data-farm="site-a"]').textContent())!, /site-a\.local/);
    await waitFor('both servers registered', async () => {
      await reload(page);
      return (await page.locator('#servers tr[data-server]').count()) === 2;
    });
    assert.match((await page.locator('#servers tr[data-server="web1"]').textContent())!, /this server/);

    // A flush from the form: applied here, propagated to web2, listed on both pages.
    await page.fill('#flush-form input[name=handle]', '/content/site-a/en/admin-page');
    await page.click('#flush-form button[type=submit]');
    await page.waitForSelector('#flush-result:not([hidden])');
    assert.match((await page.locator('#flush-result').textContent())!, /OK: site-a/);
    await waitFor('flush listed on web1', async () => {
      await reload(page);
      return ((await page.locator('#flushes').textContent()) ?? '').includes('/content/site-a/en/admin-page');
    });
    const other = await browser.newPage();
    await waitFor('flush listed on web2 (propagated)', async () => {
      await other.goto(`${web2.adminUrl}/admin`);
      return ((await other.locator('#flushes').textContent()) ?? '').includes('/content/site-a/en/admin-page');
    });
    assert.match((await other.locator('#flushes').textContent())!, /web1/, 'origin server shown');

    // Explain from the form.
    await page.fill('#explain-form input[name=handle]', '/content/site-a/en/page');
    await page.click('#explain-form button[type=submit]');
    await page.waitForSelector('#explain-result:not([hidden])');
    assert.match((await page.locator('#explain-result').textContent())!, /farm site-a \(matched \/content\/site-a\/\*\*/);

    // Hold web2 from web1's page (relayed through Redis), then release it.
    await page.click('#servers tr[data-server="web2"] button[data-action="hold"]');
    await waitFor('web2 held', async () => {
      await reload(page);
      return (await page.locator('#servers tr[data-server="web2"]').getAttribute('data-held')) === 'true';
    });
    await fs.mkdir('test-output', { recursive: true });
    await page.screenshot({ path: path.join('test-output', 'admin-page.png'), fullPage: true });
    await page.click('#servers tr[data-server="web2"] button[data-action="release"]');
    await waitFor('web2 released', async () => {
      await reload(page);
      return (await page.locator('#servers tr[data-server="web2"]').getAttribute('data-held')) === 'false';
    });
    assert.ok((await fs.stat(path.join('test-output', 'admin-page.png'))).size > 10_000);
  });
});
