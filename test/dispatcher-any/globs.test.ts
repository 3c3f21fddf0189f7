/**
 * Glob and regex conversion. The glob table is checked twice: the text we write, and, with a
 * Dispatcher glob oracle (`*` = any characters including `/`, `?` = one character), that the
 * converted glob matches exactly the same sample paths under farmgate's matcher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientGlobToCidr, convertGlob, regexToGlobs } from '../../src/dispatcher-any/globs.js';
import { compilePathGlob } from '../../src/farms/match.js';

/** Dispatcher's glob semantics as an anchored regex ("Design patterns for glob properties"). */
function dispatcherMatches(glob: string, value: string): boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      re += '[' + glob.slice(i + 1, end).replace(/^!/, '^') + ']';
      i = end;
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(value);
}

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

const PATH_TABLE: [string, string][] = [
  ['*', '/**'],
  ['/content/*', '/content/**'],
  ['*.html', '/**/*.html'],
  ['/foo/bar.*', '/foo/bar.*{,/**}'],
  ['/foo/bar/*', '/foo/bar/**'],
  ['/foo/bar[./]*', '/foo/bar[./]*{,/**}'],
  ['/content*', '/content*{,/**}'],
  ['*/private/*', '/**/private/**'],
  ['/content/*.form.html', '/content/**/*.form.html'],
  ['/content/forms/**/*.html', '/content/forms/**/*.html'],
  ['/content/si*e/en.html', '/content/si*{,/**/*}e/en.html'],
  ['/x/(y)/{z}!.html', '/x/\\(y\\)/\\{z\\}\\!.html'],
  ['/libs/granite/csrf/token.json', '/libs/granite/csrf/token.json'],
  ['${DOCROOT}/x/*', '${DOCROOT}/x/**'],
];

describe('convertGlob (Dispatcher → farmgate)', () => {
  for (const [dispatcher, ours] of PATH_TABLE) {
    it(`${dispatcher} → ${ours}`, () => {
      const c = convertGlob(dispatcher, 'path');
      assert.deepEqual(c, { glob: ours });
      if (dispatcher.includes('${') || dispatcher.includes('[./]')) return;
      const m = compilePathGlob(ours);
      for (const s of SAMPLES) {
        // Dispatcher globs without a leading slash match the whole URL, which starts with one.
        let expected = dispatcherMatches(dispatcher.startsWith('/') ? dispatcher : '/' + dispatcher, s) || dispatcherMatches(dispatcher, s);
        // The one deliberate difference: `/a/**` (as people write it) also matches the folder `/a`.
        if (ours.endsWith('/**') && s === ours.slice(0, -3)) expected = true;
        assert.equal(m.test(s), expected, `${dispatcher} vs ${s}: Dispatcher ${expected}, farmgate ${ours} ${m.test(s)}`);
      }
    });
  }

  it('[./] classes match as in Dispatcher ("below and /foo/bar itself")', () => {
    const m = compilePathGlob((convertGlob('/foo/bar[./]*', 'path') as { glob: string }).glob);
    assert.deepEqual(['/foo/bar.html', '/foo/bar/baz.html', '/foo/barn', '/foo/bar'].map((s) => m.test(s)), [true, true, false, false]);
  });

  it('word globs (extensions, selectors, hosts) are only escaped; [^x] becomes [!x]', () => {
    assert.deepEqual(convertGlob('*.site-a.com', 'word'), { glob: '*.site-a.com' });
    assert.deepEqual(convertGlob('json', 'word'), { glob: 'json' });
    assert.deepEqual(convertGlob('[^a]b', 'word'), { glob: '[!a]b' });
    assert.deepEqual(convertGlob('debug=*', 'text'), { glob: 'debug=*{,/**}' });
  });

  it('an unclosed class never matches in Dispatcher: not carried over', () => {
    assert.match((convertGlob('/a/[bc', 'path') as { error: string }).error, /unclosed "\["/);
  });
});

describe('regexToGlobs', () => {
  const TABLE: [string, string[], number][] = [
    ['(css|js)', ['css', 'js'], 0],
    ['(GET|HEAD)', ['GET', 'HEAD'], 0],
    ['GET|POST', ['GET', 'POST'], 0],
    ['jpe?g', ['jpeg', 'jpg'], 0],
    ['(css|gif|ico|js|png|swf|jpe?g)', ['css', 'gif', 'ico', 'js', 'png', 'swf', 'jpeg', 'jpg'], 0],
    ['^/content/site/.*$', ['/content/site/*'], 0],
    ['/libs/granite/csrf/token.json', ['/libs/granite/csrf/token.json'], 0],
    ['/content/.*\\.html', ['/content/*.html'], 0],
    ['()', [''], 0],
    ['(feed|rss|[0-9-]+|jcr:content)', ['feed', 'rss', 'jcr:content'], 1],
    ['[0-9]', ['[0-9]'], 0],
    ['.*(\\\\[|]).*', [], 1],
    ['\\d+', [], 1],
  ];
  for (const [regex, globs, dropped] of TABLE) {
    it(`'${regex}' → ${JSON.stringify(globs)}${dropped ? `, ${dropped} dropped` : ''}`, () => {
      const r = regexToGlobs(regex);
      assert.deepEqual(r.globs, globs);
      assert.equal(r.dropped.length, dropped, r.dropped.join('; '));
    });
  }
});

describe('clientGlobToCidr', () => {
  const TABLE: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['10.0.0.*', '10.0.0.0/24'],
    ['10.0.*.*', '10.0.0.0/16'],
    ['10.*.*.*', '10.0.0.0/8'],
    ['*.*.*.*', '0.0.0.0/0'],
    ['*', '0.0.0.0/0'],
    ['${PUBLISH_IP}', '${PUBLISH_IP}'],
    ['::1', '::1'],
    ['10.0.*.1', undefined],
    ['10.0.0.1*', undefined],
    ['author.example.com', undefined],
  ];
  for (const [glob, cidr] of TABLE) {
    it(`${glob} → ${cidr ?? 'not convertible'}`, () => assert.equal(clientGlobToCidr(glob), cidr));
  }
});
