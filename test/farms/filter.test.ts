import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, type FilterInput } from '../../src/farms/filter.js';
import { compilePathGlob, compilePathRules, decide } from '../../src/farms/match.js';
import { decomposeSlingUrl } from '../../src/farms/sling-url.js';

const input = (method: string, url: string): FilterInput => {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return { ...decomposeSlingUrl(p), method, query: q < 0 ? undefined : url.slice(q + 1) };
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
  it('no filter allows everything', () => assert.equal(compileFilter(undefined)(input('DELETE', '/x')), true));
  it('no match denies (deny-all first, then allow)', () => assert.equal(filter(input('GET', '/etc/passwd')), false));
  it('allows by method and path', () => {
    assert.equal(filter(input('GET', '/content/site-a/en.html')), true);
    assert.equal(filter(input('head', '/content/site-a/en.html')), true, 'method is case-insensitive');
    assert.equal(filter(input('POST', '/content/site-a/en.html')), false);
  });
  it('the last matching rule wins', () => {
    assert.equal(filter(input('GET', '/content/site-a/en.infinity.json')), false);
    assert.equal(filter(input('GET', '/content/site-a/en.model.json')), true);
    assert.equal(filter(input('GET', '/content/site-a/x.jsp')), false);
  });
  it('every key of an item must match (AND)', () => {
    assert.equal(filter(input('GET', '/content/site-b/en.feed.html')), false);
    assert.equal(filter(input('GET', '/content/site-a/en.feed.xml')), false);
  });
  it('query rules match only requests that have a query string', () => {
    assert.equal(filter(input('GET', '/content/site-a/en.html?debug=1')), false);
    assert.equal(filter(input('GET', '/content/site-a/en.html?x=1')), true);
  });
  it('suffix', () => {
    assert.equal(filter(input('GET', '/content/site-a/en.html/ok.html')), true);
  });
});

describe('path globs and rule lists', () => {
  it('`*` stays in one segment, `**` crosses segments, dot files match', () => {
    assert.equal(compilePathGlob('/content/*')('/content/a/b'), false);
    assert.equal(compilePathGlob('/content/**')('/content/a/b'), true);
    assert.equal(compilePathGlob('/content/**')('/content/.hidden/x'), true);
  });
  it('a leading /**/ also matches at the root', () => {
    const html = compilePathGlob('/**/*.html');
    assert.equal(html('/index.html'), true);
    assert.equal(html('/a/b/c.html'), true);
    assert.equal(html('/a/b/c.png'), false);
  });
  it('paths are case-sensitive', () => assert.equal(compilePathGlob('/Content/**')('/content/x'), false));
  it('last match wins; no match denies', () => {
    const rules = compilePathRules([{ allow: '/**' }, { deny: '/content/private/**' }]);
    assert.equal(decide(rules, '/content/a.html'), true);
    assert.equal(decide(rules, '/content/private/a.html'), false);
    assert.equal(decide(compilePathRules([]), '/x'), false);
  });
});
