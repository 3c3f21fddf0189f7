/**
 * The flush endpoint end to end: a real node:http server on 127.0.0.1:0, a Runtime from
 * createRuntime, real temp docroots. Every assertion is on files on disk or on the answer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { FlushResponseJson } from '../../src/flush/respond.js';
import { exists, makeConfig, mtime, seed, tempDir, tree } from '../helpers/flush-fixtures.js';
import { sendFlush, startFlushServer, type FlushServer } from '../helpers/flush-server.js';

const PAGES = [
  '/content/site-a/en.html',
  '/content/site-a/en/page.html',
  '/content/site-a/en/page.html.h',
  '/content/site-a/en/page.json',
  '/content/site-a/en/page/child.html',
  '/content/site-a/en/page/_jcr_content/par.json',
  '/content/site-a/en/sibling.html',
  '/content/dam/shared/brand/logo.png',
];

let base: string;
let docA: string;
let docB: string;
let srv: FlushServer;

async function start(unrouted: 'ignore' | 'reject' = 'ignore') {
  const config = makeConfig({
    unrouted,
    farms: [
      { name: 'site-a', docroot: docA, statfileslevel: 2, flushRoutes: ['/content/site-a/**', '/content/dam/shared/**'] },
      { name: 'site-b', docroot: docB, statfileslevel: 4, flushRoutes: ['/content/site-b/**', '/content/dam/shared/**'] },
    ],
  });
  return startFlushServer(config);
}

before(async () => {
  base = await tempDir();
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

afterEach(async () => srv?.close());

beforeEach(async () => {
  await fs.rm(path.join(base, 'a'), { recursive: true, force: true });
  await fs.rm(path.join(base, 'b'), { recursive: true, force: true });
  docA = path.join(base, 'a');
  docB = path.join(base, 'b');
  await seed(docA, PAGES);
  await seed(docB, ['/content/dam/shared/brand/logo.png', '/content/site-b/index.html']);
});

describe('flush endpoint: actions', () => {
  beforeEach(async () => {
    srv = await start();
  });
  const close = () => srv.close();

  it('Activate (POST): deletes page.*, _jcr_content; touches .stat to min(level, D); 200 <H1>OK</H1>', async () => {
    const before = Date.now();
    const r = await sendFlush(srv, { 'CQ-Action': 'Activate', 'CQ-Handle': '/content/site-a/en/page', 'CQ-Path': '/content/site-a/en/page' });
    await close();
    assert.equal(r.status, 200);
    assert.equal(r.text, '<H1>OK</H1>');
    assert.equal(r.headers.get('content-type'), 'text/html');
    assert.equal(r.headers.get('x-farmgate-farms'), 'site-a');
    assert.equal(r.headers.get('x-cache'), null, 'flush responses carry no X-Cache');
    assert.deepEqual(await tree(docA), [
      '/.stat',
      '/content/.stat',
      '/content/dam/shared/brand/logo.png',
      '/content/site-a/.stat',
      '/content/site-a/en.html',
      '/content/site-a/en/page/child.html',
      '/content/site-a/en/sibling.html',
    ]);
    assert.ok((await mtime(path.join(docA, '.stat'))) >= Math.floor(before / 1000) * 1000);
    const applied = srv.logs.find((l) => l.msg === 'flush applied');
    assert.ok(applied, 'an info line per farm');
    assert.equal(applied.farm, 'site-a');
    assert.equal(applied.handle, '/content/site-a/en/page');
    assert.deepEqual(applied.touched, ['/.stat', '/content/.stat', '/content/site-a/.stat']);
    assert.equal(srv.logs.filter((l) => l.msg === 'touched .stat').length, 3);
    assert.equal(srv.logs.filter((l) => l.msg === 'deleted').length, 4);
    assert.equal(srv.applied.length, 1, 'recorded for propagation');
    assert.match(await srv.metrics.registry.metrics(), /farmgate_flushes_total\{farm="site-a",action="activate",result="ok"\} 1/);
  });

  it('Activate by GET with CQ-Path only (the stock agent): same effects', async () => {
    const r = await sendFlush(srv, { 'CQ-Path': '/content/site-a/en/page' }, { method: 'GET' });
    await close();
    assert.equal(r.status, 200);
    assert.equal(await exists(path.join(docA, 'content/site-a/en/page.html')), false);
    assert.equal(await exists(path.join(docA, 'content/site-a/.stat')), true);
  });

  it('HEAD is treated like GET; other methods → 405 with Allow', async () => {
    const head = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/page' }, { method: 'HEAD' });
    const put = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/sibling' }, { method: 'PUT', body: '' });
    await close();
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal(await exists(path.join(docA, 'content/site-a/en/page.html')), false);
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST, HEAD');
    assert.equal(await exists(path.join(docA, 'content/site-a/en/sibling.html')), true);
  });

  for (const action of ['Deactivate', 'Delete', 'delete']) {
    it(`${action}: also removes the handle folder`, async () => {
      const r = await sendFlush(srv, { 'CQ-Action': action, 'CQ-Handle': '/content/site-a/en/page' });
      await close();
      assert.equal(r.status, 200);
      assert.equal(await exists(path.join(docA, 'content/site-a/en/page')), false);
      assert.equal(await exists(path.join(docA, 'content/site-a/en/page.json')), false);
      assert.equal(await exists(path.join(docA, 'content/site-a/en/sibling.html')), true);
      assert.equal(await exists(path.join(docA, 'content/site-a/.stat')), true);
    });
  }

  it('ResourceOnly: deletes the handle files, touches no .stat', async () => {
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/page', 'CQ-Action-Scope': 'ResourceOnly' });
    await close();
    assert.equal(r.status, 200);
    assert.equal(await exists(path.join(docA, 'content/site-a/en/page.html')), false);
    assert.deepEqual((await tree(docA)).filter((f) => f.endsWith('.stat')), []);
  });

  it('Test: 200, nothing touched, not propagated', async () => {
    const r = await sendFlush(srv, { 'CQ-Action': 'Test', 'CQ-Handle': '/content/site-a/en/page' });
    await close();
    assert.equal(r.status, 200);
    assert.equal(r.text, '<H1>OK</H1>');
    assert.deepEqual(await tree(docA), PAGES.slice().sort());
    assert.equal(srv.applied.length, 0);
  });

  it('handle "/" with Delete empties the docroot but keeps its folder', async () => {
    const r = await sendFlush(srv, { 'CQ-Action': 'Delete', 'CQ-Handle': '/', 'CQ-Path': '/content/site-a/x' });
    await close();
    assert.equal(r.status, 200);
    assert.deepEqual(await tree(docA), ['/.stat']);
    assert.deepEqual(await tree(docB), ['/content/dam/shared/brand/logo.png', '/content/site-b/index.html']);
  });

  it('unknown action → 400, nothing touched', async () => {
    const r = await sendFlush(srv, { 'CQ-Action': 'Expire', 'CQ-Handle': '/content/site-a/en/page' });
    const none = await sendFlush(srv, {});
    await close();
    assert.equal(r.status, 400);
    assert.match(r.text, /unknown CQ-Action "Expire"/);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(none.status, 400);
    assert.deepEqual(await tree(docA), PAGES.slice().sort());
  });

  it('an I/O failure answers 500 with the reason, not a fake 200', async () => {
    await fs.mkdir(path.join(docA, 'content/site-a/.stat'));
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/page' });
    await close();
    assert.equal(r.status, 500);
    assert.match(r.text, /site-a: cannot touch \/content\/site-a\/\.stat/);
    assert.equal(srv.applied.length, 0, 'a failed flush is not propagated');
  });

  it('a symlink inside the docroot pointing outside is never followed by a Delete', async () => {
    const outside = path.join(base, 'outside');
    await seed(outside, ['/keep.html', '/_jcr_content/keep.json']);
    await fs.symlink(outside, path.join(docA, 'content/site-a/en/linked'));
    await fs.symlink(outside, path.join(docA, 'content/site-a/en/sibling'));
    const r1 = await sendFlush(srv, { 'CQ-Action': 'Delete', 'CQ-Handle': '/content/site-a/en/linked' });
    const r2 = await sendFlush(srv, { 'CQ-Action': 'Activate', 'CQ-Handle': '/content/site-a/en/sibling' });
    await close();
    assert.deepEqual([r1.status, r2.status], [200, 200]);
    assert.equal(await exists(path.join(docA, 'content/site-a/en/linked')), false, 'the link is gone');
    assert.deepEqual(await tree(outside), ['/_jcr_content/keep.json', '/keep.html']);
    await fs.rm(outside, { recursive: true });
  });
});

describe('flush endpoint: routing and responses', () => {
  it('one CQ-Path reaching two farms with different levels, one flush time', async () => {
    srv = await start();
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/dam/shared/brand/logo.png' }, { json: true });
    await srv.close();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-farmgate-farms'), 'site-a, site-b');
    assert.equal(r.headers.get('content-type'), 'application/json');
    const body = JSON.parse(r.text) as FlushResponseJson;
    assert.deepEqual(Object.keys(body).sort(), ['action', 'farms', 'handle', 'ms', 'routingKey', 'scope', 'unrouted']);
    assert.equal(body.action, 'Activate');
    assert.equal(body.handle, '/content/dam/shared/brand/logo.png');
    assert.equal(body.routingKey, '/content/dam/shared/brand/logo.png');
    assert.equal(body.scope, null);
    assert.deepEqual(
      body.farms.map((f) => [f.farm, f.route, f.deleted, f.touched, f.refetch]),
      [
        ['site-a', '/content/dam/shared/**', ['/content/dam/shared/brand/logo.png'], ['/.stat', '/content/.stat', '/content/dam/.stat'], []],
        ['site-b', '/content/dam/shared/**', ['/content/dam/shared/brand/logo.png'],
          ['/.stat', '/content/.stat', '/content/dam/.stat', '/content/dam/shared/.stat', '/content/dam/shared/brand/.stat'], []],
      ],
    );
    assert.equal(await mtime(path.join(docA, '.stat')), await mtime(path.join(docB, 'content/dam/shared/brand/.stat')));
  });

  it('unrouted with ignore: 200, X-Farmgate-Farms present and empty, nothing done, counted, warned', async () => {
    srv = await start('ignore');
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/page', 'CQ-Path': '/content/elsewhere' }, { json: true });
    await srv.close();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-farmgate-farms'), '');
    assert.equal((JSON.parse(r.text) as FlushResponseJson).unrouted, true);
    assert.deepEqual(await tree(docA), PAGES.slice().sort());
    assert.ok(srv.logs.some((l) => l.level === 40 && l.msg === 'flush routed to no farm'));
    assert.match(await srv.metrics.registry.metrics(), /farmgate_flush_unrouted_total 1/);
    assert.equal(srv.applied.length, 0);
  });

  it('unrouted with reject: 404', async () => {
    srv = await start('reject');
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/nowhere/page' });
    await srv.close();
    assert.equal(r.status, 404);
    assert.match(r.text, /no farm routes CQ-Path \/content\/nowhere\/page/);
  });

  it('a propagation hook that fails → 503 (applied locally, not recorded)', async () => {
    const config = makeConfig({ farms: [{ name: 'site-a', docroot: docA, statfileslevel: 2, flushRoutes: ['/content/**'] }] });
    srv = await startFlushServer(config, { onApplied: async () => Promise.reject(new Error('outbox full')) });
    const r = await sendFlush(srv, { 'CQ-Handle': '/content/site-a/en/page' });
    await srv.close();
    assert.equal(r.status, 503);
    assert.match(r.text, /not recorded: outbox full/);
  });
});
