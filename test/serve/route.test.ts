/**
 * serve/route.ts, with plain values: the one route decision (farm → document → internal names →
 * filter → cacheable → freshness rule) that the full path, the fast path, refetch and the front
 * generator share.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeConfig } from '../../src/config/index.js';
import { configSchema } from '../../src/config/schema.js';
import { compileFarm } from '../../src/farms/farm.js';
import { isAuthorized, refusalOf, routeInFarm, routeRequest, type Route } from '../../src/serve/route.js';

const farms = normalizeConfig(
  configSchema.parse({
    farms: [
      {
        name: 'a',
        virtualhosts: ['site-a.local'],
        docroot: '/tmp/a',
        renders: [{ url: 'http://127.0.0.1:1' }],
        filter: [{ deny: { path: '/**' } }, { allow: { path: '/content/**' } }],
        cache: {
          statfileslevel: 2,
          rules: [{ allow: '/**' }, { deny: '/content/private/**' }],
          invalidate: [{ deny: '/**' }, { allow: '/**/*.html' }],
          ignoreUrlParams: [{ allow: 'utm_*' }],
          gracePeriodMs: 250,
          enableTTL: true,
        },
      },
      { name: 'b', virtualhosts: ['*'], docroot: '/tmp/b', renders: [{ url: 'http://127.0.0.1:1' }] },
    ],
  }),
  { configDir: '/tmp', defaultName: 'test' },
).farms.map(compileFarm);

const route = (url: string, over: { method?: string; host?: string; authorized?: boolean } = {}): Route =>
  routeRequest(farms, { method: 'GET', host: 'site-a.local', authorized: false, url, ...over });

describe('routeRequest', () => {
  it('a cacheable page: farm, document, freshness rule', () => {
    const r = route('/content/site/en/page.html?utm_source=x');
    assert.equal(r.verdict, 'cache');
    if (r.verdict !== 'cache') return;
    assert.equal(r.farm.name, 'a');
    assert.equal(r.docPath, '/content/site/en/page.html');
    assert.equal(r.rawPath, '/content/site/en/page.html');
    assert.equal(r.query, 'utm_source=x');
    assert.deepEqual(r.sling, { path: '/content/site/en/page', selectors: '', extension: 'html', suffix: '' });
    assert.deepEqual(r.freshness, {
      statDirs: ['/content/site', '/content', '/'],
      statfileslevel: 2,
      invalidates: true,
      gracePeriodMs: 250,
      enableTTL: true,
      statCheckIntervalMs: 1000,
    });
  });

  it('cache.invalidate decides per document', () => {
    const r = route('/content/logo.png');
    assert.equal(r.verdict === 'cache' && r.freshness.invalidates, false);
  });

  it('each verdict, in order, with its refusal', () => {
    const cases: [Route, string, string | undefined][] = [
      [route('/content/a.html', { host: 'nowhere' }), 'no-farm', undefined],
      [routeRequest([farms[0]!], { method: 'GET', host: 'nowhere', url: '/', authorized: false }), 'no-farm', 'FG_NO_FARM'],
      [route('/content/..%2fx.html'), 'bad-path', 'FG_BAD_PATH'],
      [route('/content//x.html'), 'bad-path', 'FG_BAD_PATH'],
      [route('/content/%zz.html'), 'bad-path', 'FG_BAD_PATH'],
      [route('/content/.stat'), 'internal', 'FG_INTERNAL_FILE'],
      [route('/content/a.html.h'), 'internal', 'FG_INTERNAL_FILE'],
      [route('/content/.fgtmp-a.html.1.1'), 'internal', 'FG_INTERNAL_FILE'],
      [route('/etc/passwd.html'), 'filtered', 'FG_FILTERED'],
      [route('/content/a.html?q=1'), 'pass', undefined],
      [route('/content/a.html', { method: 'POST' }), 'pass', undefined],
      [route('/content/a.html', { authorized: true }), 'pass', undefined],
      [route('/content/private/a.html'), 'pass', undefined],
      [route('/content/a'), 'pass', undefined],
      [route('/content/a.html'), 'cache', undefined],
    ];
    // the catch-all farm b answers every other host
    assert.equal(cases[0]![0].verdict, 'cache');
    assert.equal((cases[0]![0] as { farm: { name: string } }).farm.name, 'b');
    for (const [r, verdict, code] of cases.slice(1)) {
      assert.equal(r.verdict, verdict, r.url);
      assert.equal(refusalOf(r)?.code, code, r.url);
    }
  });

  it('a pass says why, in Dispatcher words', () => {
    const r = route('/content/a.html?q=1');
    assert.equal(r.verdict === 'pass' && r.reason, 'request contained a query string');
  });

  it('a filtered request still says whether it would be cacheable (test-url)', () => {
    const r = route('/etc/x.html');
    assert.equal(r.verdict === 'filtered' && r.cacheable.ok, true);
  });

  it('isAuthorized: the Authorization header or an auth cookie', () => {
    assert.equal(isAuthorized(undefined, undefined), false);
    assert.equal(isAuthorized('Basic eDp5', undefined), true);
    assert.equal(isAuthorized(undefined, 'a=1; login-token=x'), true);
    assert.equal(isAuthorized(undefined, 'a=1; token=x'), false);
  });
});

describe('routeInFarm (refetch)', () => {
  it('routes in the given farm whatever the host', () => {
    const r = routeInFarm(farms[0]!, { method: 'GET', url: '/content/x.html', authorized: false });
    assert.equal(r.verdict, 'cache');
    assert.equal(r.farm.name, 'a');
  });
});
