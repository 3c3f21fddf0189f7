/**
 * The executor on real temp docroots, through the file-system store: file effects, the hot layer and
 * in-memory `.stat` times agreeing with the disk at once, symlinks never followed, I/O failures.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { FsStore } from '../../src/cache/fs-store.js';
import { HotLayer } from '../../src/cache/hot-layer.js';
import { AppError } from '../../src/errors.js';
import { executePlan, statDocPath } from '../../src/flush/execute.js';
import type { FlushAction, FlushScope } from '../../src/flush/types.js';
import { listingFolder, planFlush } from '../../src/flush/plan.js';
import { exists, mtime, seed, tempDir, tree } from '../helpers/flush-fixtures.js';

const FILES = [
  '/content/site/en.html',
  '/content/site/en/products.html',
  '/content/site/en/products.html.h',
  '/content/site/en/products.json',
  '/content/site/en/products/shoes.html',
  '/content/site/en/products/_jcr_content/par.json',
  '/content/site/en/other.html',
];

let base: string;
let docroot: string;
let outside: string;
let cache: FsStore;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

beforeEach(async () => {
  base = await tempDir();
  dirs.push(base);
  docroot = path.join(base, 'docroot');
  outside = path.join(base, 'outside');
  await fs.mkdir(outside, { recursive: true });
  await fs.writeFile(path.join(outside, 'secret.html'), 'secret');
  await seed(docroot, FILES);
  cache = await FsStore.open(docroot, { hot: new HotLayer(1 << 20, 1 << 16) });
});

async function flush(handle: string, action: FlushAction = 'Activate', scope: FlushScope = undefined, level = 3, at = Date.now()) {
  const listing = await cache.list(listingFolder(handle));
  const plan = planFlush({ statfileslevel: level, action, scope, handle, listing });
  return executePlan(cache, plan, at);
}

describe('executePlan', () => {
  it('Activate deletes base.* and _jcr_content, touches .stat up to the level with one time', async () => {
    const at = Math.floor(Date.now() / 1000) * 1000;
    const r = await flush('/content/site/en/products', 'Activate', undefined, 3, at);
    assert.deepEqual(r.deleted, [
      '/content/site/en/products.html',
      '/content/site/en/products.html.h',
      '/content/site/en/products.json',
      '/content/site/en/products/_jcr_content',
    ]);
    assert.deepEqual(r.touched, ['/.stat', '/content/.stat', '/content/site/.stat', '/content/site/en/.stat']);
    assert.deepEqual(await tree(docroot), [
      '/.stat',
      '/content/.stat',
      '/content/site/.stat',
      '/content/site/en.html',
      '/content/site/en/.stat',
      '/content/site/en/other.html',
      '/content/site/en/products/shoes.html',
    ]);
    for (const s of r.touched) assert.equal(await mtime(path.join(docroot, s)), at, s);
  });

  it('Delete removes the handle folder; ResourceOnly touches nothing', async () => {
    const r = await flush('/content/site/en/products', 'Delete', 'ResourceOnly');
    assert.deepEqual(r.touched, []);
    assert.ok(r.deleted.includes('/content/site/en/products'));
    assert.equal(await exists(path.join(docroot, 'content/site/en/products')), false);
    assert.equal(await exists(path.join(docroot, '.stat')), false);
    assert.equal(await exists(path.join(docroot, 'content/site/en/other.html')), true);
  });

  it('the hot layer and .stat times agree with the disk at once', async () => {
    const hit = await cache.lookup('/content/site/en/products.html', 60_000);
    assert.ok(hit, 'cached before');
    const shoes = await cache.lookup('/content/site/en/products/shoes.html', 60_000);
    assert.ok(shoes);
    assert.equal(await cache.readStat(cache.statLookup('/content/site/en/other.html', 3), 60_000), undefined);
    const at = Date.now();
    await flush('/content/site/en/products', 'Delete', undefined, 3, at);
    // No HIT from memory for a deleted file, even within the check interval.
    assert.equal(cache.peek('/content/site/en/products.html', 60_000), undefined);
    assert.equal(await cache.lookup('/content/site/en/products.html', 60_000), undefined);
    assert.equal(await cache.lookup('/content/site/en/products/shoes.html', 60_000), undefined);
    // The touched .stat is known in memory without waiting for the check interval.
    assert.equal(cache.peekStat(cache.statLookup('/content/site/en/other.html', 3), 60_000), at);
    assert.equal(await cache.readStat(cache.statLookup('/content/site/en.html', 3), 60_000), at);
  });

  it('handle "/" with Delete empties the docroot, keeps its folder, touches the root .stat', async () => {
    const r = await flush('/', 'Delete');
    assert.deepEqual(r.deleted, ['/content']);
    assert.deepEqual(r.touched, ['/.stat']);
    assert.deepEqual(await tree(docroot), ['/.stat']);
    const again = await flush('/', 'Activate');
    assert.deepEqual([again.deleted, again.touched], [[], ['/.stat']]);
  });

  it('a symlinked handle, _jcr_content or folder pointing outside is never followed', async () => {
    await fs.symlink(outside, path.join(docroot, 'content/site/en/linked'));
    await fs.mkdir(path.join(docroot, 'content/site/en/page'), { recursive: true });
    await fs.symlink(outside, path.join(docroot, 'content/site/en/page/_jcr_content'));
    await fs.symlink(path.join(outside, 'secret.html'), path.join(docroot, 'content/site/en/linked.html'));

    const del = await flush('/content/site/en/linked', 'Delete');
    // The link named like the handle is removed as a file (the link, not its target).
    assert.deepEqual(del.deleted, ['/content/site/en/linked', '/content/site/en/linked.html']);
    const act = await flush('/content/site/en/page', 'Activate');
    assert.ok(act.deleted.includes('/content/site/en/page/_jcr_content'));
    // Only the links went; the target folder and file are intact.
    assert.equal(await fs.readFile(path.join(outside, 'secret.html'), 'utf8'), 'secret');
    assert.deepEqual(await fs.readdir(outside), ['secret.html']);
  });

  it('a folder on the handle path that links outside: nothing deleted or touched there', async () => {
    await fs.symlink(outside, path.join(docroot, 'content/site/ext'));
    await fs.writeFile(path.join(outside, 'page.html'), 'outside page');
    const r = await flush('/content/site/ext/page', 'Delete');
    assert.deepEqual(r.deleted, []);
    assert.deepEqual(r.touched, ['/.stat', '/content/.stat', '/content/site/.stat']);
    assert.equal(await exists(path.join(outside, 'page.html')), true);
    assert.equal(await exists(path.join(outside, '.stat')), false);
  });

  it('an I/O failure is an FG_FLUSH_IO error naming the file, not a silent success', async () => {
    await fs.mkdir(path.join(docroot, '.stat'));
    await assert.rejects(flush('/content/site/en/products'), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'FG_FLUSH_IO');
      assert.equal(err.status, 500);
      assert.match(err.message, /cannot touch \/\.stat/);
      return true;
    });
    // Deletes ran first, and stay done.
    assert.equal(await exists(path.join(docroot, 'content/site/en/products.html')), false);
  });

  it('statDocPath', () => {
    assert.equal(statDocPath('/'), '/.stat');
    assert.equal(statDocPath('/content/site'), '/content/site/.stat');
  });
});
