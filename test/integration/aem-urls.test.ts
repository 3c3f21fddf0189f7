/**
 * The URLs AEM sites serve most are cached (contract section 3: the last path segment decides):
 * clientlibs, DAM renditions and core image URLs become HITs, through a real farmgate, a real
 * render and a real docroot. A file/folder collision (a DAM asset cached as a file, then its
 * renditions under `asset.png/_jcr_content/…`, or the other way round) is served as a MISS,
 * not stored, and is not counted as a cache write error.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

describe('AEM URLs are cached; file/folder collisions are served, not stored', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender((req, n) => ({ headers: { 'content-type': 'application/octet-stream' }, body: `${req.url} #${n}` }));
    fg = await startFarmgate(oneFarmYaml(render.url, { rules: [{ allow: '/**' }] }));
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  const get = async (p: string, method = 'GET') => {
    const r = await fg.request(p, { host: 'site.local', method });
    return { status: r.status, cache: r.headers.get('x-cache'), body: await r.text() };
  };
  const writeErrors = async () => (await fg.app.metrics.cacheWriteErrors.get()).values.reduce((n, v) => n + v.value, 0);
  const leftovers = async (dir: string) => (await fs.readdir(dir)).filter((n) => n.startsWith('.fgtmp-'));

  for (const url of [
    '/etc.clientlibs/site/clientlibs/clientlib-site.min.css',
    '/content/dam/site/a.png/_jcr_content/renditions/cq5dam.web.1280.1280.png',
    '/content/site/en/_jcr_content/root/image.coreimg.jpeg/1700000000/photo.jpeg',
  ]) {
    it(`${url}: MISS, then HIT from docroot + path`, async () => {
      assert.deepEqual(await get(url), { status: 200, cache: 'MISS', body: `${url} #1` });
      assert.deepEqual(await get(url), { status: 200, cache: 'HIT', body: `${url} #1` });
      assert.equal(await fs.readFile(path.join(fg.docroot('site'), url), 'utf8'), `${url} #1`);
      assert.equal(render.count(url), 1);
    });
  }

  it('a cached file where a folder must be: the rendition is served (MISS) every time, never stored', async () => {
    const asset = '/content/dam/site/b.png';
    const rendition = `${asset}/_jcr_content/renditions/web.png`;
    assert.equal((await get(asset)).cache, 'MISS');
    assert.equal((await get(asset)).cache, 'HIT');
    const errors = await writeErrors();
    assert.deepEqual(await get(rendition), { status: 200, cache: 'MISS', body: `${rendition} #1` });
    assert.deepEqual(await get(rendition), { status: 200, cache: 'MISS', body: `${rendition} #2` });
    assert.equal((await get(rendition, 'HEAD')).status, 200);
    assert.equal((await fs.stat(path.join(fg.docroot('site'), asset))).isFile(), true, 'the asset stays a cached file');
    assert.deepEqual(await get(asset), { status: 200, cache: 'HIT', body: `${asset} #1` });
    assert.equal(await writeErrors(), errors, 'a collision is not a cache write error');
    assert.deepEqual(await leftovers(path.join(fg.docroot('site'), 'content/dam/site')), []);
  });

  it('a cached folder where the file must be: the asset is served (MISS) every time, never stored', async () => {
    const asset = '/content/dam/site/c.png';
    const rendition = `${asset}/_jcr_content/renditions/web.png`;
    assert.equal((await get(rendition)).cache, 'MISS');
    assert.equal((await get(rendition)).cache, 'HIT');
    const errors = await writeErrors();
    assert.deepEqual(await get(asset), { status: 200, cache: 'MISS', body: `${asset} #1` });
    assert.deepEqual(await get(asset), { status: 200, cache: 'MISS', body: `${asset} #2` });
    const dir = path.join(fg.docroot('site'), 'content/dam/site');
    assert.equal((await fs.stat(path.join(dir, 'c.png'))).isDirectory(), true);
    await assert.rejects(fs.stat(path.join(dir, 'c.png.h')), 'no stray header file beside the folder');
    assert.equal((await get(rendition)).cache, 'HIT', 'the renditions stay cached');
    assert.equal(await writeErrors(), errors, 'a collision is not a cache write error');
    assert.deepEqual(await leftovers(dir), []);
  });
});
