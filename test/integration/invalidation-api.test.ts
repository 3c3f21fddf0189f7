/**
 * The invalidation API end to end: a real render that tags its pages, farmgate on 127.0.0.1:0,
 * signed requests (sha256 HMAC of the exact body) deleting every file that carries a tag, paths
 * flushed like AEM flushes, and every refusal touching nothing. The tag index survives a restart.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signBody } from '../../src/invalidation/signature.js';
import { oneFarmYaml, startFarmgate, tempDir, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'api-secret-0123456789abcdef';
const API = '/farmgate/v1/invalidate';
/** Which content items each page renders: the render sends them as Surrogate-Key. */
const PAGES: Record<string, string> = {
  '/content/site/en/product-42.html': 'page-p42 product-42 nav',
  '/content/site/en/home.html': 'page-home product-42 product-7 nav',
  '/content/site/en/about.html': 'page-about nav',
  '/content/site/de/produkt-42.html': 'page-p42-de product-42',
};

function yaml(renderUrl: string, extraCache: Record<string, unknown> = {}): string {
  return oneFarmYaml(renderUrl, extraCache, `invalidation:\n  api:\n    secret: "${SECRET}"\n`);
}

async function post(fg: TestFarmgate, body: unknown, headers: Record<string, string> = {}, secret: string | null = SECRET) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sig: Record<string, string> = secret === null ? {} : { 'X-Farmgate-Signature': signBody(text, secret) };
  const res = await fg.request(API, { method: 'POST', headers: { 'content-type': 'application/json', ...sig, ...headers }, body: text });
  return { status: res.status, headers: res.headers, json: JSON.parse((await res.text()) || 'null') as Record<string, unknown> };
}

const cacheOf = async (fg: TestFarmgate, p: string) => (await fg.request(p, { host: 'site.local' })).headers.get('x-cache');

describe('invalidation API', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let dir: string;
  before(async () => {
    render = await startRender((req, n) => ({
      headers: { 'content-type': 'text/html', 'surrogate-key': PAGES[req.url ?? ''] ?? 'untagged-page' },
      body: `<html>${req.url} render ${n}</html>`,
    }));
    dir = await tempDir();
    fg = await startFarmgate(yaml(render.url), { dir });
    for (const p of Object.keys(PAGES)) {
      assert.equal(await cacheOf(fg, p), 'MISS');
      assert.equal(await cacheOf(fg, p), 'HIT');
    }
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('hides the tag header from clients and keeps the tags in the .h sidecar', async () => {
    const res = await fg.request('/content/site/en/home.html', { host: 'site.local' });
    assert.equal(res.headers.get('surrogate-key'), null);
    const h = JSON.parse(await fs.readFile(path.join(fg.docroot('site'), 'content/site/en/home.html.h'), 'utf8'));
    assert.deepEqual(h.tags, ['page-home', 'product-42', 'product-7', 'nav']);
  });

  it('refuses without touching anything: unsigned, mis-signed, a body changed after signing, GET, malformed, oversized', async () => {
    const body = JSON.stringify({ tags: ['product-42'] });
    assert.equal((await post(fg, body, {}, null)).status, 401);
    assert.equal((await post(fg, body, {}, 'another-secret-0123456789')).status, 401);
    const forged = await fg.request(API, { method: 'POST', headers: { 'X-Farmgate-Signature': signBody(body, SECRET) }, body: JSON.stringify({ tags: ['nav'] }) });
    assert.equal(forged.status, 401, await forged.text());
    const get = await fg.request(API);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const bad = await post(fg, '{"tags": [');
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /not JSON/);
    assert.equal((await post(fg, { tag: ['x'] })).status, 400);
    const big = await post(fg, JSON.stringify({ tags: ['x'], pad: 'y'.repeat(1_100_000) }));
    assert.equal(big.status, 413);
    for (const r of [bad]) assert.equal(r.headers.get('x-cache'), null, 'API responses carry no X-Cache');
    for (const p of Object.keys(PAGES)) assert.equal(await cacheOf(fg, p), 'HIT', `${p} untouched`);
  });

  it('a tag deletes every file carrying it, with sidecars, and touches no .stat', async () => {
    const statsBefore = await statFiles(fg.docroot('site'));
    const r = await post(fg, { tags: ['product-42'] });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-cache'), null);
    const farm = (r.json.farms as { farm: string; deleted: string[]; touched: string[]; tags: Record<string, number> }[])[0]!;
    assert.deepEqual(farm.deleted, ['/content/site/de/produkt-42.html', '/content/site/en/home.html', '/content/site/en/product-42.html']);
    assert.deepEqual(farm.touched, []);
    assert.deepEqual(farm.tags, { 'product-42': 3 });
    await assert.rejects(fs.stat(path.join(fg.docroot('site'), 'content/site/en/home.html.h')), 'the sidecar went too');
    assert.deepEqual(await statFiles(fg.docroot('site')), statsBefore, 'no .stat touched');
    assert.equal(await cacheOf(fg, '/content/site/en/home.html'), 'MISS');
    assert.equal(await cacheOf(fg, '/content/site/en/product-42.html'), 'MISS');
    assert.equal(await cacheOf(fg, '/content/site/en/about.html'), 'HIT', 'a page without the tag stays');
  });

  it('a path acts like a flush of that handle; a tag carried by no file deletes nothing', async () => {
    const r = await post(fg, { paths: ['/content/site/en/about.html'], tags: ['nobody-has-this'], action: 'Delete' });
    assert.equal(r.status, 200);
    const farm = (r.json.farms as { deleted: string[]; touched: string[]; paths: string[] }[])[0]!;
    assert.ok(farm.deleted.includes('/content/site/en/about.html'));
    assert.deepEqual(farm.touched, ['/.stat', '/content/.stat', '/content/site/.stat']);
    assert.deepEqual(farm.paths, ['/content/site/en/about.html']);
    assert.equal(await cacheOf(fg, '/content/site/en/about.html'), 'MISS');
  });

  it('the tag index survives a restart (a clean stop saves it; the next start needs no walk)', async () => {
    for (const p of Object.keys(PAGES)) await cacheOf(fg, p);
    await fg.servers.close();
    await fg.app.close();
    const stateTags = path.join(dir, 'var/state/tags');
    const [indexDir] = await fs.readdir(stateTags);
    assert.ok(await fs.stat(path.join(stateTags, indexDir!, 'clean')));
    fg = await startFarmgate(yaml(render.url), { dir });
    const tags = fg.app.runtime().tagsFor(fg.app.runtime().farms[0]!);
    assert.equal(tags.status().rebuildReason, undefined);
    const r = await post(fg, { tags: ['nav'] });
    assert.equal((r.json.farms as { deleted: string[] }[])[0]!.deleted.length, 3);
  });

  it('farms names where to act; an unknown farm is refused', async () => {
    assert.equal((await post(fg, { tags: ['x'], farms: ['elsewhere'] })).status, 400);
    assert.equal((await post(fg, { tags: ['x'], farms: ['site'] })).status, 200);
  });

  it('a signed ts replayed is answered without acting again; an old one is refused', async () => {
    const body = JSON.stringify({ tags: ['page-home'], ts: Date.now() });
    const first = await post(fg, body);
    assert.equal(first.status, 200);
    const again = await post(fg, body);
    assert.deepEqual(again.json, { duplicate: true });
    assert.equal((await post(fg, { tags: ['x'], ts: Date.now() - 3_600_000 })).status, 401);
  });
});

describe('invalidation API with flush.allowedClients set', () => {
  it('checks the client address too', async () => {
    const render = await startRender();
    const fg = await startFarmgate(yaml(render.url).replace('allowedClients: ["127.0.0.1", "::1"]', 'allowedClients: ["10.9.8.7"]'));
    try {
      const r = await post(fg, { tags: ['x'] });
      assert.equal(r.status, 403);
    } finally {
      await fg.close();
      await render.close();
    }
  });
});

async function statFiles(docroot: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === '.stat') out[path.relative(docroot, p)] = (await fs.stat(p)).mtimeMs;
    }
  };
  await walk(docroot);
  return out;
}
