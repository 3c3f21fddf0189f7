import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, filterInput, type FilterInput } from '../../src/farms/filter.js';
import { compilePathGlob, compilePathRules, decide } from '../../src/farms/match.js';
import { decomposeSlingUrl } from '../../src/farms/sling-url.js';

const input = (method: string, url: string): FilterInput => {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return filterInput(p, method, q < 0 ? undefined : url.slice(q + 1));
};

describe('decomposeSlingUrl', () => {
  const cases: [string, string, string, string, string][] = [
    ['/content/page.a.b.html/s/x.json', '/content/page', 'a.b', 'html', '/s/x.json'],
    ['/content/site/en.html', '/content/site/en', '', 'html', ''],
    ['/content/site/en', '/content/site/en', '', '', ''],
    ['/content/dam/logo.png', '/content/dam/logo', '', 'png', ''],
    ['/content/x.model.json', '/content/x', 'model', 'json', ''],
    ['/content/v1.2/page.html', '/content/v1', '', '2', '/page.html'],
  ];
  for (const [url, path, selectors, extension, suffix] of cases) {
    it(url, () => assert.deepEqual(decomposeSlingUrl(url), { path, selectors, extension, suffix }));
  }
});

describe('compileFilter', () => {
  const filter = compileFilter([
    { deny: { path: '/**' } },
    { allow: { method: ['GET', 'HEAD'], path: '/content/site-a/**' } },
    { deny: { selectors: ['feed', 'infinity', 'query'], extension: ['json', 'xml', 'html'] } },
    { deny: { extension: 'jsp' } },
    { deny: { path: '/content/site-a/**', query: 'debug=*' } },
    { allow: { suffix: '/ok.html', path: '/content/site-a/**' } },
  ]);
  it('no filter allows everything', () => assert.equal(compileFilter(undefined).allows(input('DELETE', '/x')), true));
  it('no match denies (deny-all first, then allow)', () => assert.equal(filter.allows(input('GET', '/etc/passwd')), false));
  it('allows by method and path', () => {
    assert.equal(filter.allows(input('GET', '/content/site-a/en.html')), true);
    assert.equal(filter.allows(input('head', '/content/site-a/en.html')), true, 'method is case-insensitive');
    assert.equal(filter.allows(input('POST', '/content/site-a/en.html')), false);
  });
  it('the last matching rule wins', () => {
    assert.equal(filter.allows(input('GET', '/content/site-a/en.infinity.json')), false);
    assert.equal(filter.allows(input('GET', '/content/site-a/en.model.json')), true);
    assert.equal(filter.allows(input('GET', '/content/site-a/x.jsp')), false);
  });
  it('every key of an item must match (AND)', () => {
    assert.equal(filter.allows(input('GET', '/content/site-b/en.feed.html')), false);
    assert.equal(filter.allows(input('GET', '/content/site-a/en.feed.xml')), false);
  });
  it('query rules match only requests that have a query string', () => {
    assert.equal(filter.allows(input('GET', '/content/site-a/en.html?debug=1')), false);
    assert.equal(filter.allows(input('GET', '/content/site-a/en.html?x=1')), true);
  });
  it('suffix', () => {
    assert.equal(filter.allows(input('GET', '/content/site-a/en.html/ok.html')), true);
  });
});

describe('path globs and rule lists', () => {
  it('`*` stays in one segment, `**` crosses segments, dot files match', () => {
    assert.equal(compilePathGlob('/content/*').test('/content/a/b'), false);
    assert.equal(compilePathGlob('/content/**').test('/content/a/b'), true);
    assert.equal(compilePathGlob('/content/**').test('/content/.hidden/x'), true);
  });
  it('a leading /**/ also matches at the root', () => {
    const html = compilePathGlob('/**/*.html');
    assert.equal(html.test('/index.html'), true);
    assert.equal(html.test('/a/b/c.html'), true);
    assert.equal(html.test('/a/b/c.png'), false);
  });
  it('paths are case-sensitive', () => assert.equal(compilePathGlob('/Content/**').test('/content/x'), false));
  it('last match wins; no match denies', () => {
    const rules = compilePathRules([{ allow: '/**' }, { deny: '/content/private/**' }]);
    assert.equal(decide(rules, '/content/a.html'), true);
    assert.equal(decide(rules, '/content/private/a.html'), false);
    assert.equal(decide(compilePathRules([]), '/x'), false);
  });
});

describe('filter rule values: url, { regex }, empty strings, the deciding rule', () => {
  const filter = compileFilter([
    { deny: { url: '/**' } },
    { allow: { url: '/content/**', method: { regex: 'GET|HEAD' } } },
    { deny: { selectors: { regex: '[0-9-]+' } } },
    { allow: { url: '/libs/granite/csrf/token.json' } },
    { deny: { url: '/content/**', selectors: '', extension: 'json' } },
    { allow: { extension: { regex: 'sitemap(-index)?' }, selectors: '' } },
  ]);
  it('url is the whole decoded path without the query, selectors and suffix included', () => {
    assert.equal(filter.allows(input('GET', '/libs/granite/csrf/token.json')), true);
    assert.equal(filter.allows(input('GET', '/libs/granite/csrf/token.json?x=1')), true, 'the query is not part of url');
    assert.equal(filter.allows(input('GET', '/libs/granite/csrf/token.infinity.json')), false, 'an exact url leaves nothing free');
    assert.equal(filter.allows(input('GET', '/libs/granite/csrf/token.json/x.json')), false, 'nor a suffix');
    assert.equal(filterInput('/a b/c.html', 'GET', undefined).url, '/a b/c.html');
  });
  it('a regex value matches the whole value', () => {
    assert.equal(filter.allows(input('GET', '/content/wknd/us/en.1.html')), false, 'greedy selectors denied');
    assert.equal(filter.allows(input('GET', '/content/wknd/us/en.2024-01.html')), false);
    assert.equal(filter.allows(input('GET', '/content/wknd/us/en.a1.html')), true, 'whole-value: a1 is not [0-9-]+');
    assert.equal(filter.allows(input('POST', '/content/wknd/us/en.html')), false);
    assert.equal(filter.allows(input('head', '/content/wknd/us/en.html')), true, 'methods are case-insensitive');
  });
  it('an empty string matches only an empty value', () => {
    assert.equal(filter.allows(input('GET', '/content/x.json')), false, 'no selectors: denied');
    assert.equal(filter.allows(input('GET', '/content/x.model.json')), true, 'selectors present: that deny does not apply');
    assert.equal(filter.allows(input('GET', '/x.sitemap-index')), true);
    assert.equal(filter.allows(input('GET', '/x.a.sitemap')), false);
  });
  it('decide returns the deciding rule index (-1: none matched)', () => {
    assert.deepEqual(filter.decide(input('GET', '/content/x.1.html')), { allow: false, index: 2 });
    assert.deepEqual(filter.decide(input('GET', '/content/x.html')), { allow: true, index: 1 });
    assert.deepEqual(compileFilter([{ allow: { url: '/a' } }]).decide(input('GET', '/b')), { allow: false, index: -1 });
    assert.deepEqual(compileFilter(undefined).decide(input('GET', '/b')), { allow: true, index: -1 });
  });
  it('the compiled rules are data: allow/deny and one anchored RegExp per given key', () => {
    const rules = filter.rules!;
    assert.equal(rules.length, 6);
    assert.equal(rules[1]!.allow, true);
    assert.deepEqual(Object.keys(rules[1]!.match), ['method', 'url']);
    assert.equal(rules[1]!.match.method!.regex.flags, 'i');
    assert.equal(rules[2]!.match.selectors!.regex.source, '^(?:[0-9-]+)$');
    assert.equal(rules[4]!.match.selectors!.regex.source, '^(?:)$');
    assert.equal(compileFilter(undefined).rules, undefined);
  });
  it('query matches only a request that has a query string, even for an empty value', () => {
    const f = compileFilter([{ allow: { url: '/**' } }, { deny: { query: '' } }]);
    assert.equal(f.allows(input('GET', '/x.html')), true);
    assert.equal(f.allows(input('GET', '/x.html?')), false);
  });
});

describe('compileFarm exposes its rules as data', () => {
  it('filter, cache, invalidate, ignoreUrlParams, hosts and flushRoutes each carry their RegExp', async () => {
    const { parseConfig } = await import('../../src/config/index.js');
    const { compileFarm } = await import('../../src/farms/farm.js');
    const cfg = parseConfig(
      `farms:
  - name: a
    virtualhosts: ["*.Site-A.com", "site-a.local:8080"]
    docroot: /tmp/a
    renders: [{ url: "http://127.0.0.1:4503" }]
    filter:
      - allow: { url: "/content/**" }
    cache:
      rules: [{ allow: { regex: "/content/.*" } }, { deny: "/content/private/**" }]
      ignoreUrlParams: [{ allow: "utm_*" }]
    flushRoutes: ["/content/**"]
`,
      'f.yaml',
      {},
    );
    const farm = compileFarm(cfg.farms[0]!);
    assert.equal(farm.rules.filter.rules!.length, 1);
    assert.deepEqual(farm.rules.cache.map((r) => [r.allow, r.matcher.regex.test('/content/private/x.html')]), [[true, true], [false, true]]);
    assert.equal(farm.cacheAllows('/content/private/x.html'), false);
    assert.equal(farm.rules.ignoreUrlParams[0]!.matcher.regex.test('utm_source'), true);
    assert.equal(farm.rules.invalidate.length, 2, 'the default invalidate rules');
    assert.equal(farm.hostMatchers[0]!.host.regex.test('www.SITE-A.com'), true);
    assert.equal(farm.hostMatchers[0]!.host.regex.flags, 'i');
    assert.deepEqual(farm.hostMatchers.map((h) => h.port), [undefined, '8080']);
    assert.equal(farm.flushRoutes[0]!.matcher.regex.test('/content/x'), true);
  });
});
