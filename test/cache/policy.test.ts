import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasAuthCookie, isCacheable, isStorable, queryParamNames, ttlExpiry } from '../../src/cache/policy.js';

const farm = { allowAuthorized: false, ignoresParam: (n: string) => n.startsWith('utm_'), cacheAllows: (p: string) => !p.startsWith('/private/') };
const req = { method: 'GET', docPath: '/content/a.html', query: undefined, authorization: false, cookie: undefined };
const reason = (d: { ok: boolean; reason?: string }) => (d.ok ? 'ok' : d.reason);

describe('isCacheable', () => {
  it('a plain GET of a file with an extension', () => assert.equal(reason(isCacheable(req, farm)), 'ok'));
  it('HEAD too', () => assert.equal(reason(isCacheable({ ...req, method: 'HEAD' }, farm)), 'ok'));
  it('POST is not', () => assert.match(reason(isCacheable({ ...req, method: 'POST' }, farm))!, /GET or HEAD/));
  it('no extension', () => assert.match(reason(isCacheable({ ...req, docPath: '/content/a' }, farm))!, /extension/));
  it('trailing slash', () => assert.match(reason(isCacheable({ ...req, docPath: '/content/a.html/' }, farm))!, /trailing slash/));
  it('the last path segment decides: a suffix with an extension is cacheable, one without is not', () => {
    assert.equal(reason(isCacheable({ ...req, docPath: '/content/a.html/b.html' }, farm)), 'ok');
    assert.match(reason(isCacheable({ ...req, docPath: '/content/a.html/b' }, farm))!, /missing extension/);
  });
  it('clientlibs, DAM renditions and core image URLs are cacheable (contract section 3)', () => {
    for (const docPath of [
      '/etc.clientlibs/site/clientlib-site.min.css',
      '/content/dam/a.png/_jcr_content/renditions/cq5dam.web.1280.1280.png',
      '/content/p/_jcr_content/image.coreimg.jpeg/1700000000/photo.jpeg',
    ]) {
      assert.equal(reason(isCacheable({ ...req, docPath }, farm)), 'ok', docPath);
    }
  });
  it('a dot that starts the last segment is not an extension', () => {
    assert.match(reason(isCacheable({ ...req, docPath: '/content/.hidden' }, farm))!, /missing extension/);
    assert.match(reason(isCacheable({ ...req, docPath: '/content.d/readme' }, farm))!, /missing extension/);
    assert.equal(reason(isCacheable({ ...req, docPath: '/content/.well-known/x.json' }, farm)), 'ok');
  });
  it('query string', () => assert.match(reason(isCacheable({ ...req, query: 'q=1' }, farm))!, /query/));
  it('query string of ignored parameters only', () => assert.equal(reason(isCacheable({ ...req, query: 'utm_source=x&utm_medium=y' }, farm)), 'ok'));
  it('one parameter not ignored', () => assert.match(reason(isCacheable({ ...req, query: 'utm_source=x&q=1' }, farm))!, /query/));
  it('empty query (`?`) counts as none', () => assert.equal(reason(isCacheable({ ...req, query: '' }, farm)), 'ok'));
  it('Authorization header', () => assert.match(reason(isCacheable({ ...req, authorization: true }, farm))!, /authorization/));
  it('login-token cookie', () => assert.match(reason(isCacheable({ ...req, cookie: 'a=1; login-token=xyz' }, farm))!, /authorization/));
  it('authorization allowed by allowAuthorized', () =>
    assert.equal(reason(isCacheable({ ...req, authorization: true }, { ...farm, allowAuthorized: true })), 'ok'));
  it('cache.rules deny', () => assert.match(reason(isCacheable({ ...req, docPath: '/private/a.html' }, farm))!, /cache rules/));
});

describe('isStorable', () => {
  const res = { status: 200, headers: { 'content-type': 'text/html' }, bodyLength: 10 };
  it('200 with a body', () => assert.equal(reason(isStorable(res)), 'ok'));
  it('non-200', () => {
    for (const status of [201, 204, 301, 404, 500, 503]) assert.match(reason(isStorable({ ...res, status }))!, /status/);
  });
  it('empty body', () => assert.match(reason(isStorable({ ...res, bodyLength: 0 }))!, /zero/));
  it('Dispatcher: no-cache and no_cache', () => {
    assert.match(reason(isStorable({ ...res, headers: { dispatcher: 'no-cache' } }))!, /no_cache/);
    assert.match(reason(isStorable({ ...res, headers: { dispatcher: 'no_cache' } }))!, /no_cache/);
  });
  it('Cache-Control no-cache, no-store, private, must-revalidate', () => {
    for (const cc of ['no-cache', 'no-store', 'private, max-age=0', 'public, must-revalidate']) {
      assert.equal(isStorable({ ...res, headers: { 'cache-control': cc } }).ok, false, cc);
    }
    assert.equal(isStorable({ ...res, headers: { 'cache-control': 'public, max-age=60' } }).ok, true);
  });
  it('Set-Cookie', () => assert.match(reason(isStorable({ ...res, headers: { 'set-cookie': ['a=1'] } }))!, /cookie/));
});

describe('ttlExpiry', () => {
  const now = 1_000_000;
  it('s-maxage wins over max-age', () => assert.equal(ttlExpiry({ 'cache-control': 'max-age=10, s-maxage=20' }, now), now + 20_000));
  it('max-age', () => assert.equal(ttlExpiry({ 'cache-control': 'public, max-age=10' }, now), now + 10_000));
  it('Expires', () => assert.equal(ttlExpiry({ expires: 'Thu, 01 Jan 2030 00:00:00 GMT' }, now), Date.parse('2030-01-01T00:00:00Z')));
  it('invalid Expires means already expired', () => assert.equal(ttlExpiry({ expires: '0' }, now), now));
  it('none → undefined', () => assert.equal(ttlExpiry({}, now), undefined));
});

describe('helpers', () => {
  it('queryParamNames', () => assert.deepEqual(queryParamNames('a=1&b&c%5B%5D=2&&'), ['a', 'b', 'c[]']));
  it('hasAuthCookie', () => {
    assert.equal(hasAuthCookie('authorization=x'), true);
    assert.equal(hasAuthCookie('my-login-token=x'), false);
    assert.equal(hasAuthCookie(undefined), false);
  });
});
