/**
 * The docroot store on real temp folders: atomic installs with mtime = render start, sidecars,
 * the hot layer agreeing with what farmgate did to the disk, flush fences, the symlink guard.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DocrootCache } from '../../src/cache/docroot-cache.js';
import { HotLayer } from '../../src/cache/hot-layer.js';
import { tempDir } from '../helpers/farmgate.js';

describe('DocrootCache', () => {
  let dir: string;
  let cache: DocrootCache;
  let clock = 1_700_000_000_000;
  before(async () => {
    dir = await tempDir('farmgate-store-');
    cache = await DocrootCache.open(path.join(dir, 'docroot'), { hot: new HotLayer(1 << 20, 1 << 16), now: () => clock });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  async function store(docPath: string, body: string, startedAt: number): Promise<boolean> {
    const w = cache.beginWrite(docPath, startedAt);
    w.write(Buffer.from(body));
    return w.commit([['content-type', 'text/html']], undefined);
  }

  it('installs atomically with mtime = render start and a versioned .h sidecar', async () => {
    assert.equal(await store('/content/a.html', 'A', clock - 5000), true);
    const file = path.join(cache.docroot, 'content/a.html');
    assert.equal(await fs.readFile(file, 'utf8'), 'A');
    assert.equal(Math.round((await fs.stat(file)).mtimeMs), clock - 5000);
    assert.deepEqual(JSON.parse(await fs.readFile(file + '.h', 'utf8')), { v: 1, headers: [['content-type', 'text/html']] });
    assert.deepEqual((await fs.readdir(path.dirname(file))).sort(), ['a.html', 'a.html.h'], 'no temporary file left');
    const hit = cache.peek('/content/a.html', 1000);
    assert.equal(hit?.body?.toString(), 'A', 'served from memory without a disk read');
  });

  it('remove() drops the file and its hot entry at once', async () => {
    await store('/content/b.html', 'B', clock - 4000);
    assert.ok(cache.peek('/content/b.html', 1000));
    assert.equal(await cache.remove('/content/b.html'), true);
    assert.equal(cache.peek('/content/b.html', 1000), undefined);
    assert.equal(await cache.lookup('/content/b.html', 1000), undefined);
  });

  it('a fence refuses copies rendered before it, even ones a listing missed', async () => {
    await store('/content/c.html', 'old', clock - 3000);
    clock += 10;
    cache.fence(['/content/c', '/content/c.', '/content/c/_jcr_content/']);
    assert.equal(cache.peek('/content/c.html', 1000), undefined, 'not served from memory');
    assert.equal(await cache.lookup('/content/c.html', 1000), undefined, 'not loaded from disk');
    assert.equal(await store('/content/c.html', 'in flight before the flush', clock - 1), false, 'not installed');
    assert.equal(await store('/content/c.html', 'rendered after the flush', clock + 1), true);
    assert.equal((await cache.lookup('/content/c.html', 1000))?.body?.toString(), 'rendered after the flush');
    assert.equal(cache.lastDeleted('/content/c.mobile.html'), clock, 'base.* is fenced');
    assert.equal(cache.lastDeleted('/content/c/_jcr_content/par.json'), clock, 'the folder is fenced');
    assert.equal(cache.lastDeleted('/content/cc.html'), 0, 'a neighbour is not');
  });

  it('touchStat creates the .stat with the flush time and the in-memory time agrees', async () => {
    const file = await cache.touchStat('/content/site', clock);
    assert.equal(file, path.join(cache.docroot, 'content/site/.stat'));
    assert.equal(Math.round((await fs.stat(file!)).mtimeMs), clock);
    assert.equal(cache.peekNearestStat('/content/site/en.html', 3, 1000), clock);
  });

  it('never follows a symlink out of the docroot', async () => {
    const outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.html'), 'secret');
    await fs.symlink(outside, path.join(cache.docroot, 'content/link'));
    assert.equal(await cache.lookup('/content/link/secret.html', 1000), undefined, 'not read');
    assert.equal(await store('/content/link/new.html', 'x', clock), false, 'not written');
    assert.equal(await cache.touchStat('/content/link', clock), undefined, 'not touched');
    assert.equal(await cache.remove('/content/link/secret.html'), false, 'not deleted');
    assert.deepEqual(await fs.readdir(outside), ['secret.html']);
  });

  it('sweeps temporary files whose writer is gone', async () => {
    const tmp = path.join(cache.docroot, 'content/.fgtmp-x.html.999999999.1');
    await fs.writeFile(tmp, 'partial');
    assert.equal(await cache.sweepTempFiles(), 1);
    await assert.rejects(fs.stat(tmp));
  });
});
