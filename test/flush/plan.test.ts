/**
 * The planner against every worked example of the reference (dispatcher-behaviour.md §2.3 A–G),
 * plus routing. "Next reads" are checked with the same pure lookup the serving path uses
 * (statLookupOrder + cache.invalidate): the first existing `.stat` decides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statLookupOrder } from '../../src/cache/stat-files.js';
import { compileFarm } from '../../src/farms/farm.js';
import { routeFlush } from '../../src/farms/select.js';
import type { FlushAction, FlushScope } from '../../src/flush/types.js';
import { listingFolder, planFlush, type FlushPlan } from '../../src/flush/plan.js';
import { listingOf, makeConfig } from '../helpers/flush-fixtures.js';

// Reference §2.3: docroot /cache/site, /invalidate { deny "*", allow "*.html" }, statfileslevel 3.
const CACHED = [
  '/content/site/en.html',
  '/content/site/de.html',
  '/content/site/en/products.html',
  '/content/site/en/products.html.h',
  '/content/site/en/products.mobile.html',
  '/content/site/en/products.json',
  '/content/site/en/productsold.html',
  '/content/site/en/products/shoes.html',
  '/content/site/en/products/_jcr_content/par.json',
  '/content/site/de/about.html',
  '/content/dam/site/logo.png',
  '/content/dam/site/logo.png.h',
  '/content/dam/site/logo.png.ttl',
  '/content/dam/site/logo.png.jpg',
  '/content/dam/site/logo.png2',
  '/etc.clientlibs/site/base.css',
];
const farm = compileFarm(makeConfig({ farms: [{ name: 'site', docroot: '/cache/site', statfileslevel: 3 }] }).farms[0]!);

function plan(handle: string, action: FlushAction = 'Activate', scope: FlushScope = undefined, level = 3, files = CACHED): FlushPlan {
  return planFlush({ statfileslevel: level, action, scope, handle, listing: listingOf(files, listingFolder(handle)) });
}

/** Is a cached file stale after the flush? `statsBefore`: folders that already had a `.stat`. */
function staleAfter(p: FlushPlan, docPath: string, level = 3, statsBefore: string[] = []): boolean {
  const stats = new Set([...statsBefore, ...p.statTouches]);
  const nearest = statLookupOrder(docPath, level).find((dir) => stats.has(dir));
  return farm.invalidates(docPath) && nearest !== undefined && p.statTouches.includes(nearest);
}

const files = (p: FlushPlan) => p.deletes.filter((d) => d.kind === 'file').map((d) => d.docPath);
const trees = (p: FlushPlan) => p.deletes.filter((d) => d.kind === 'tree').map((d) => d.docPath);

describe('reference §2.3 worked examples', () => {
  it('A. Activate /content/site/en/products (no extension → D 4 → maxLevel 3)', () => {
    const p = plan('/content/site/en/products');
    assert.deepEqual(files(p), [
      '/content/site/en/products.html',
      '/content/site/en/products.html.h',
      '/content/site/en/products.json',
      '/content/site/en/products.mobile.html',
    ]);
    assert.deepEqual(trees(p), ['/content/site/en/products/_jcr_content']);
    assert.deepEqual(p.statTouches, ['/', '/content', '/content/site', '/content/site/en']);
    // Next reads.
    assert.equal(staleAfter(p, '/content/site/en.html'), true, 'nearest .stat /content/site (touched)');
    assert.equal(staleAfter(p, '/content/site/de.html'), true, 'everything directly in an ancestor folder goes stale');
    assert.equal(staleAfter(p, '/content/site/en/products/shoes.html'), true, 'depth 4 capped at 3 → /content/site/en/.stat');
    assert.equal(staleAfter(p, '/content/site/de/about.html', 3, ['/content/site/de']), false, 'own untouched .stat');
    assert.equal(staleAfter(p, '/content/site/de/about.html'), true, 'no .stat in de/: falls back to /content/site/.stat');
    assert.equal(staleAfter(p, '/content/dam/site/logo.png'), false, 'not *.html');
    assert.equal(staleAfter(p, '/etc.clientlibs/site/base.css'), false, 'not *.html');
    assert.ok(!files(p).includes('/content/site/en/productsold.html'), 'base.* means "products." exactly');
  });

  it('B. the same flush with ResourceOnly: same deletions, no .stat touched', () => {
    const a = plan('/content/site/en/products');
    const b = plan('/content/site/en/products', 'Activate', 'ResourceOnly');
    assert.deepEqual(b.deletes, a.deletes);
    assert.deepEqual(b.statTouches, []);
    assert.equal(staleAfter(b, '/content/site/en.html', 3, ['/']), false);
  });

  it('C. Delete /content/site/en/products: A plus the folder itself', () => {
    const c = plan('/content/site/en/products', 'Delete');
    assert.deepEqual(files(c), files(plan('/content/site/en/products')));
    assert.deepEqual(trees(c), ['/content/site/en/products'], 'the folder (and its _jcr_content) goes');
    assert.deepEqual(c.statTouches, ['/', '/content', '/content/site', '/content/site/en']);
    assert.deepEqual(plan('/content/site/en/products', 'Deactivate'), c);
  });

  it('D. Activate /content/dam/site/logo.png (extension → D 3)', () => {
    const d = plan('/content/dam/site/logo.png');
    assert.deepEqual(files(d), [
      '/content/dam/site/logo.png',
      '/content/dam/site/logo.png.h',
      '/content/dam/site/logo.png.jpg',
      '/content/dam/site/logo.png.ttl',
    ]);
    assert.deepEqual(trees(d), ['/content/dam/site/logo.png/_jcr_content']);
    assert.deepEqual(d.statTouches, ['/', '/content', '/content/dam', '/content/dam/site']);
    // Site pages are governed by /content/site/.stat, which the DAM flush does not touch.
    assert.equal(staleAfter(d, '/content/site/en.html', 3, ['/content/site']), false);
    assert.equal(staleAfter(d, '/content/site/en/products.html', 3, ['/content/site', '/content/site/en']), false);
  });

  it('E. statfileslevel 0: every flush touches only /.stat; every *.html goes stale', () => {
    const e = plan('/content/site/en/products', 'Activate', undefined, 0);
    assert.deepEqual(e.statTouches, ['/']);
    for (const f of CACHED.filter((x) => x.endsWith('.html'))) {
      assert.equal(staleAfter(e, f, 0, ['/content/site/de', '/content/site']), true, f);
    }
    assert.equal(staleAfter(e, '/content/dam/site/logo.png', 0), false);
  });

  it('F. AMS table: /content/dam/brand1/en/us/logo.jpg at levels 0..7', () => {
    const all = ['/', '/content', '/content/dam', '/content/dam/brand1', '/content/dam/brand1/en', '/content/dam/brand1/en/us'];
    for (let level = 0; level <= 7; level++) {
      const p = plan('/content/dam/brand1/en/us/logo.jpg', 'Activate', undefined, level, []);
      assert.deepEqual(p.statTouches, all.slice(0, Math.min(level, 5) + 1), `level ${level}`);
    }
  });

  it('G. nested docroots: levels count from each farm\'s own docroot', () => {
    // Flush farm docroot /mnt/var/www/html, level 5; site farm docroot …/content/site/nl, level 5.
    const flushFarm = plan('/content/site/nl/x/y/z/page', 'Activate', undefined, 5, []);
    assert.deepEqual(flushFarm.statTouches.at(-1), '/content/site/nl/x/y', 'absolute depth 5');
    // The site farm reads /x/y/z/w/v/page.html at its own level 5: /x/y/z/w/v — never touched by
    // the flush farm (whose deepest touch is the site farm's level 2, /x/y).
    const siteRead = statLookupOrder('/x/y/z/w/v/page.html', 5)[0];
    assert.equal(siteRead, '/x/y/z/w/v');
    // Flushing through the site farm itself, with its own docroot and level, reaches it.
    const siteFarm = plan('/x/y/z/w/v/page', 'Activate', undefined, 5, []);
    assert.deepEqual(siteFarm.statTouches, ['/', '/x', '/x/y', '/x/y/z', '/x/y/z/w', '/x/y/z/w/v']);
  });
});

describe('planner details', () => {
  it('extension vs extension-less handles', () => {
    assert.deepEqual(plan('/content/site/en').statTouches, ['/', '/content', '/content/site', '/content/site/en']);
    assert.deepEqual(plan('/content/site/en.html').statTouches, ['/', '/content', '/content/site']);
    assert.deepEqual(plan('/content/site/v1.2/page').statTouches, ['/', '/content', '/content/site', '/content/site/v1.2']);
    assert.deepEqual(plan('/content', 'Activate', undefined, 3).statTouches, ['/', '/content']);
  });

  it('an extension-less file named exactly like the handle goes; a folder of that name only with Delete', () => {
    const cached = ['/a/page', '/a/page.html', '/a/other.html'];
    assert.deepEqual(files(plan('/a/page', 'Activate', undefined, 3, cached)), ['/a/page', '/a/page.html']);
    const withFolder = ['/a/page/child.html', '/a/page.html'];
    assert.deepEqual(files(plan('/a/page', 'Activate', undefined, 3, withFolder)), ['/a/page.html']);
    assert.deepEqual(trees(plan('/a/page', 'Activate', undefined, 3, withFolder)), ['/a/page/_jcr_content']);
    assert.deepEqual(trees(plan('/a/page', 'Delete', undefined, 3, withFolder)), ['/a/page']);
  });

  it('handle "/" never deletes the docroot itself', () => {
    const root = ['/.stat', '/index.html', '/index.html.h', '/content/site/en.html', '/etc.clientlibs/a.css'];
    const activate = plan('/', 'Activate', undefined, 3, root);
    assert.deepEqual(activate, { deletes: [], statTouches: ['/'], fences: [] });
    const del = plan('/', 'Delete', undefined, 3, root);
    assert.deepEqual(del.deletes, [
      { docPath: '/content', kind: 'tree' },
      { docPath: '/etc.clientlibs', kind: 'tree' },
      { docPath: '/index.html', kind: 'file' },
      { docPath: '/index.html.h', kind: 'file' },
    ]);
    assert.deepEqual(del.statTouches, ['/']);
    assert.deepEqual(plan('/', 'Deactivate', undefined, 3, root), del);
    assert.deepEqual(del.fences, ['/']);
    assert.deepEqual(plan('/', 'Delete', 'ResourceOnly', 3, root), { deletes: del.deletes, statTouches: [], fences: ['/'] });
    assert.ok(!del.deletes.some((d) => d.docPath === '/'));
  });

  it('Test does nothing', () => {
    assert.deepEqual(plan('/content/site/en/products', 'Test'), { deletes: [], statTouches: [], fences: [] });
  });

  it('fences what the flush deletes, cached or not, so a render in flight is never stored after it', () => {
    assert.deepEqual(plan('/content/site/en/products', 'Activate').fences, [
      '/content/site/en/products',
      '/content/site/en/products.',
      '/content/site/en/products/_jcr_content/',
    ]);
    assert.deepEqual(plan('/content/site/en/products', 'Delete').fences, [
      '/content/site/en/products',
      '/content/site/en/products.',
      '/content/site/en/products/',
    ]);
  });

  it('listingFolder', () => {
    assert.equal(listingFolder('/'), '/');
    assert.equal(listingFolder('/content'), '/');
    assert.equal(listingFolder('/content/site/en.html'), '/content/site');
  });
});

describe('routing (CQ-Path → farms)', () => {
  const config = makeConfig({
    farms: [
      { name: 'site-a', docroot: '/cache/a', flushRoutes: ['/content/site-a/**', '/content/dam/shared/**'] },
      { name: 'site-b', docroot: '/cache/b', flushRoutes: ['/content/site-b/**', '/content/dam/shared/**'] },
      { name: 'no-flush', docroot: '/cache/c' },
    ],
  });
  const farms = config.farms.map(compileFarm);
  const route = (key: string) => routeFlush(farms, key).map((r) => [r.farm.name, r.glob]);

  it('one farm, with the glob that matched', () => {
    assert.deepEqual(route('/content/site-a/en/page'), [['site-a', '/content/site-a/**']]);
    assert.deepEqual(route('/content/site-b/x.html'), [['site-b', '/content/site-b/**']]);
  });

  it('two farms for a shared DAM path', () => {
    assert.deepEqual(route('/content/dam/shared/logo.png'), [
      ['site-a', '/content/dam/shared/**'],
      ['site-b', '/content/dam/shared/**'],
    ]);
  });

  it('none', () => {
    assert.deepEqual(route('/content/site-c/en'), []);
    assert.deepEqual(route('/'), []);
  });
});
