/**
 * Dispatcher values → farmgate rule values, exactly. Each table row is checked twice: the value
 * we write, and, against the Dispatcher oracle (test/helpers/dispatcher-oracle.ts), that the
 * farmgate matcher decides every sample value as Dispatcher does. Then the same with fast-check
 * on generated globs and regexes, and the client globs of `/allowedClients` as address sets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientGlobSet, toAllowedClients, type ClientSet } from '../../src/dispatcher-any/clients.js';
import { convertHostGlob } from '../../src/dispatcher-any/globs.js';
import { translatePosixRegex } from '../../src/dispatcher-any/posix-regex.js';
import { carryValue, type ValueKind } from '../../src/dispatcher-any/values.js';
import { compileValue } from '../../src/farms/match.js';
import { compileAddressList } from '../../src/net/client-address.js';
import { ereMatch, globMatch } from '../helpers/dispatcher-oracle.js';

const SAMPLES = [
  '/',
  '/index.html',
  '/content',
  '/content.html',
  '/contentx',
  '/content/site',
  '/content/site/en.html',
  '/content/site/en/products.html',
  '/content/site/private/a.html',
  '/content/private/x',
  '/content/forms/af/x/y.html',
  '/content/a/b.form.html',
  '/content/a.form.html',
  '/foo/bar',
  '/foo/bar.html',
  '/foo/bar.a.json',
  '/foo/bar/baz.html',
  '/foo/barn',
  '/etc.clientlibs/site/base.css',
  '/x/(y)/{z}!.html',
];

/** Dispatcher glob → the farmgate value (a literal stays a glob; anything else is an exact regex). */
const PATH_TABLE: [string, unknown][] = [
  ['*', { regex: '.*' }],
  ['/content/*', { regex: '/content/.*' }],
  ['*.html', { regex: '.*\\.html' }],
  ['/foo/bar.*', { regex: '/foo/bar\\..*' }],
  ['/foo/bar/*', { regex: '/foo/bar/.*' }],
  ['/foo/bar[./]*', { regex: '/foo/bar[./].*' }],
  ['/content*', { regex: '/content.*' }],
  ['*/private/*', { regex: '.*/private/.*' }],
  ['/content/*.form.html', { regex: '/content/.*\\.form\\.html' }],
  ['/content/forms/**/*.html', { regex: '/content/forms/.*/.*\\.html' }],
  ['/content/si*e/en.html', { regex: '/content/si.*e/en\\.html' }],
  ['/x/(y)/{z}!.html', { regex: '/x/\\(y\\)/\\{z\\}!\\.html' }],
  ['/libs/granite/csrf/token.json', '/libs/granite/csrf/token.json'],
  ['${DOCROOT}/x/*', { regex: '${DOCROOT}/x/.*' }],
  ['/content/${SITE}/en.html', '/content/${SITE}/en.html'],
  ['/_?jcr[:_]system.*', { regex: '/_.jcr[:_]system\\..*' }],
  ['/a/[!b]*', { regex: '/a/[^b].*' }],
  ['/a/[]x]', { regex: '/a/[\\]x]' }],
  ['/a/[bc', { regex: '(?!)' }],
];

describe('carryValue: Dispatcher globs (double quotes) on paths', () => {
  for (const [dispatcher, ours] of PATH_TABLE) {
    it(`${dispatcher} → ${JSON.stringify(ours)}`, () => {
      const c = carryValue({ text: dispatcher, quote: '"' }, 'path');
      assert.ok(c.ok, JSON.stringify(c));
      assert.deepEqual(c.v.value, ours);
      if (dispatcher.includes('${')) return;
      const m = compileValue(c.v.value, { path: true });
      for (const s of SAMPLES) assert.equal(m.test(s), globMatch(dispatcher, s), `${dispatcher} vs ${s}`);
    });
  }

  it('"/a/*" does not match "/a" (Dispatcher: "/a/" then anything)', () => {
    const c = carryValue({ text: '/home/users/*', quote: '"' }, 'path');
    assert.ok(c.ok);
    const m = compileValue(c.v.value, { path: true });
    assert.deepEqual(['/home/users', '/home/users/', '/home/users/a/b.json', '/home/usersx'].map((s) => m.test(s)), [false, true, true, false]);
  });

  it('plain words stay globs; "" is the empty value; a lower-case method cannot be carried', () => {
    const word = (text: string, kind: ValueKind = 'plain', quote = '"') => {
      const c = carryValue({ text, quote }, kind);
      return c.ok ? c.v.value : `refused: ${c.why}`;
    };
    assert.equal(word('json'), 'json');
    assert.equal(word('jcr:content'), 'jcr:content');
    assert.equal(word(''), '');
    assert.deepEqual(word('', 'path'), { regex: '' });
    assert.equal(word('GET', 'method'), 'GET');
    assert.match(String(word('get', 'method')), /^refused: methods arrive upper-case/);
    assert.deepEqual(word('debug=*'), { regex: 'debug=.*' });
  });
});

describe('convertHostGlob (virtualhosts): escaped only; [!x] becomes [^x]', () => {
  it('examples', () => {
    assert.deepEqual(convertHostGlob('*.site-a.com'), { glob: '*.site-a.com' });
    assert.deepEqual(convertHostGlob('json'), { glob: 'json' });
    assert.deepEqual(convertHostGlob('[!a]b'), { glob: '[^a]b' });
    assert.deepEqual(convertHostGlob('[^a]b'), { glob: '[^a]b' });
    assert.deepEqual(convertHostGlob('(a)'), { glob: '\\(a\\)' });
  });
  it('an unclosed class never matches in Dispatcher: not carried over', () => {
    assert.match((convertHostGlob('[bc') as { error: string }).error, /unclosed "\["/);
  });
});

/** Single-quoted (POSIX ERE) values: the farmgate value, or why it is refused. */
const REGEX_TABLE: [string, unknown][] = [
  ['(css|js)', ['css', 'js']],
  ['(GET|HEAD)', ['GET', 'HEAD']],
  ['GET|POST', ['GET', 'POST']],
  ['jpe?g', { regex: 'jpe?g' }],
  ['(css|gif|ico|js|png|swf|jpe?g)', { regex: '(css|gif|ico|js|png|swf|jpe?g)' }],
  ['^/content/site/.*$', { regex: '^/content/site/.*$' }],
  ['/libs/granite/csrf/token.json', { regex: '/libs/granite/csrf/token.json' }],
  ['/content/.*\\.html', { regex: '/content/.*\\.html' }],
  ['()', ''],
  ['(feed|rss|[0-9-]+|jcr:content)', { regex: '(feed|rss|[0-9-]+|jcr:content)' }],
  ['[0-9]', { regex: '[0-9]' }],
  ['.*(\\\\[|]).*', { regex: '.*(\\\\[|]).*' }],
  ['\\d+', 'refused'],
  ['sitemap(-index)?', { regex: 'sitemap(-index)?' }],
  ['[[:digit:]]+', { regex: '[0-9]+' }],
  ['[[:alpha:]_-]+', { regex: '[A-Za-z_-]+' }],
  ['[\\.]', { regex: '[\\\\.]' }],
  ['a{,3}', { regex: 'a{0,3}' }],
  ['a**', { regex: '(a*)*' }],
  ['\\w+', { regex: '[A-Za-z0-9_]+' }],
  ['(a', 'refused'],
  ['*a', 'refused'],
  ['[[.a.]]', 'refused'],
  ['\\1', 'refused'],
];

describe('carryValue: Dispatcher regexes (single quotes), POSIX ERE', () => {
  for (const [regex, ours] of REGEX_TABLE) {
    it(`'${regex}' → ${JSON.stringify(ours)}`, () => {
      const c = carryValue({ text: regex, quote: "'" }, 'plain');
      if (ours === 'refused') {
        assert.equal(c.ok, false);
        return;
      }
      assert.ok(c.ok, JSON.stringify(c));
      assert.deepEqual(c.v.value, ours);
      const m = compileValue(c.v.value);
      for (const s of ['', 'css', 'js', 'jpg', 'jpeg', 'GET', 'HEAD', '12-3', 'a', 'aaa', 'aaaa', '_', '\\', '.', 'x', 'sitemap', 'sitemap-index', 'a_b-c', '[', '/content/site/x', 'feed', 'jcr:content']) {
        assert.equal(m.test(s), ereMatch(regex, s), `'${regex}' vs ${JSON.stringify(s)}`);
      }
    });
  }
  it('translatePosixRegex lists literal alternatives', () => {
    const t = translatePosixRegex('(css|js|[0-9]+)');
    assert.ok(t.ok);
    assert.deepEqual(t.alternatives.map((a) => a.literal), ['css', 'js', undefined]);
  });
});

describe('carried values decide exactly as Dispatcher (fast-check)', () => {
  const RUNS = { numRuns: 500, seed: 19 };
  const chars = ['a', 'b', '/', '.', '-', ':', 'x'];
  const value = fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((a) => a.join(''));
  it('globs', () => {
    const glob = fc.array(fc.constantFrom(...chars, '*', '?', '[ab]', '[!a]', '[a-c]', '[]a]', '{', '(', '!', '+', '\\'), { maxLength: 7 }).map((a) => a.join(''));
    fc.assert(
      fc.property(glob, fc.array(value, { minLength: 1, maxLength: 10 }), fc.constantFrom<ValueKind>('path', 'plain'), (g, values, kind) => {
        const c = carryValue({ text: g, quote: '"' }, kind);
        assert.ok(c.ok, `${g}: ${JSON.stringify(c)}`);
        const m = compileValue(c.v.value, { path: kind === 'path' });
        for (const v of [...values, g]) assert.equal(m.test(v), globMatch(g, v), `"${g}" → ${JSON.stringify(c.v.value)} on ${JSON.stringify(v)}`);
      }),
      RUNS,
    );
  });
  it('regexes', () => {
    const atom = fc.constantFrom('a', 'b', '.', '/', '-', '\\.', '[ab]', '[^a]', '[a-c-]', '[[:alpha:]]', '(a|b)', '(ab|)', '()', 'x');
    const piece = fc.tuple(atom, fc.constantFrom('', '', '*', '+', '?', '{1,2}', '{,2}')).map(([a, q]) => a + q);
    const regex = fc.array(piece, { minLength: 1, maxLength: 5 }).chain((p) => fc.constantFrom(p.join(''), `(${p.join('|')})`, p.join('|')));
    fc.assert(
      fc.property(regex, fc.array(value, { minLength: 1, maxLength: 10 }), (r, values) => {
        const c = carryValue({ text: r, quote: "'" }, 'plain');
        assert.ok(c.ok, `${r}: ${JSON.stringify(c)}`);
        const m = compileValue(c.v.value);
        for (const v of values) assert.equal(m.test(v), ereMatch(r, v), `'${r}' → ${JSON.stringify(c.v.value)} on ${JSON.stringify(v)}`);
      }),
      RUNS,
    );
  });
});

describe('clientGlobSet: /allowedClients globs as exact address sets', () => {
  const TABLE: [string, string[] | undefined][] = [
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.*', ['10.0.0.0/24']],
    ['10.0.*.*', ['10.0.0.0/16']],
    ['10.*.*.*', ['10.0.0.0/8']],
    ['*.*.*.*', ['0.0.0.0/0']],
    ['*', ['0.0.0.0/0', '::/0']],
    ['${PUBLISH_IP}', ['${PUBLISH_IP}']],
    ['::1', ['::1']],
    ['10.20.*', ['10.20.0.0/16']],
    ['10.0.0.1*', ['10.0.0.1', '10.0.0.10/31', '10.0.0.12/30', '10.0.0.16/30', '10.0.0.100/30', '10.0.0.104/29', '10.0.0.112/28', '10.0.0.128/26', '10.0.0.192/29']],
    ['author.example.com', undefined],
    ['1*.*2*.*', undefined],
  ];
  for (const [glob, cidrs] of TABLE) {
    it(`${glob} → ${cidrs ? cidrs.join(' ') : 'not an address glob'}`, () => {
      const set = clientGlobSet(glob);
      assert.deepEqual('why' in set ? undefined : toAllowedClients(set), cidrs);
    });
  }
  it('10.0.*.1 (a star crosses dots): every 10.X.Y.1 with X.Y one or two octets, exactly', () => {
    const set = clientGlobSet('10.0.*.1') as ClientSet;
    const allowed = compileAddressList(toAllowedClients(set));
    for (const ip of ['10.0.0.1', '10.0.255.1', '10.0.5.1', '10.0.0.2', '10.1.0.1']) assert.equal(allowed(ip), globMatch('10.0.*.1', ip), ip);
  });
  it('the address set matches exactly what the glob matches (fast-check over addresses)', () => {
    const octet = fc.oneof(fc.constantFrom(0, 1, 9, 10, 19, 20, 99, 100, 199, 200, 255), fc.integer({ min: 0, max: 255 }));
    const ip = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const glob = fc.tuple(fc.constantFrom('10', '1*', '*', '?0', '1?', '[12]0'), fc.constantFrom('.', '.*', ''), fc.constantFrom('20', '*', '2*'), fc.constantFrom('.*', '.1', '', '.[0-4]')).map((p) => p.join(''));
    fc.assert(
      fc.property(glob, fc.array(ip, { minLength: 5, maxLength: 20 }), (g, ips) => {
        const found = clientGlobSet(g);
        if ('why' in found) return; // too scattered to list: refused, and the importer says so
        const set = found;
        const allowed = compileAddressList(toAllowedClients(set).length ? toAllowedClients(set) : ['255.255.255.255/32']);
        for (const a of ips) {
          if (toAllowedClients(set).length === 0) assert.equal(globMatch(g, a), false, `${g} ${a}`);
          else assert.equal(allowed(a), globMatch(g, a), `${g} on ${a} (${toAllowedClients(set).slice(0, 5).join(' ')}…)`);
        }
      }),
      { numRuns: 60, seed: 3 },
    );
  });
});
