/**
 * Rule values: every compiled matcher is one anchored RegExp, and that RegExp decides exactly as
 * the value's meaning does (picomatch's own matcher for globs, with our `/**\/` root rule and
 * empty-string rule; the user's regex for `{ regex }`; any item for lists). Checked with
 * fast-check (seeded, bounded) on generated globs, regexes and inputs built from their own
 * characters. The generated regexes also stay inside the JavaScript/PCRE subset, so the
 * configuration `farmgate front` writes decides the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { globProblem } from '../../src/config/schema.js';
import { regexProblem } from '../../src/config/regex-subset.js';
import { compileGlob, compilePathGlob, compileValue, compileValueRules, decide, decideRule, type RuleAtom } from '../../src/farms/match.js';

const RUNS = { numRuns: 400, seed: 1129 };

/** picomatch's matcher: the meaning of a glob (contract section 2: micromatch, dot: true). */
function globMeans(glob: string, value: string, opts: { path?: boolean; nocase?: boolean } = {}): boolean {
  if (glob === '') return value === '';
  const m = (g: string) => picomatch(g, { dot: true, nocase: opts.nocase ?? false })(value);
  return m(glob) || (opts.path === true && glob.startsWith('/**/') && m('/' + glob.slice(4)));
}

const globToken = fc.constantFrom('/', '/', 'a', 'b', 'B', '.', '-', '*', '**', '?', '[ab]', '[^a]', '[!a]', '[a-c]', '[[:space:]]', '[[:alpha:]]', '{a,b}', '{,/**}', '@(a|b)', '+(a)', 'x', '(', ')', '!', '+', '@', '$', '%', ' ', 'ä', '\\*');
const globArb = fc.array(globToken, { minLength: 1, maxLength: 7 }).map((t) => t.join('')).filter((g) => globProblem(g) === undefined);
const pathGlobArb = globArb.map((g) => (g.startsWith('/') ? g : '/' + g)).filter((g) => globProblem(g) === undefined);

/** Inputs from the value's own characters, so matches are likely, plus the value itself. */
function inputsFor(source: string): fc.Arbitrary<string> {
  const chars = [...new Set([...source.replace(/[*?[\]{}]/g, ''), '/', 'a', 'b', '.', 'A'])];
  return fc.oneof(
    fc.constant(source),
    fc.constant(''),
    fc.array(fc.constantFrom(...chars), { maxLength: 9 }).map((c) => c.join('')),
    fc.array(fc.constantFrom(...chars), { maxLength: 6 }).map((c) => '/' + c.join('')),
  );
}

/** PCRE-subset check of a generated expression body (flags aside). */
function pcreSafe(re: RegExp): string | undefined {
  return regexProblem(re.source);
}

describe('rule values compile to one anchored RegExp', () => {
  it('a glob decides exactly as picomatch does (any input), and its RegExp is the matcher', () => {
    fc.assert(
      fc.property(globArb.chain((g) => fc.tuple(fc.constant(g), fc.array(inputsFor(g), { minLength: 1, maxLength: 8 }))), ([glob, inputs]) => {
        const m = compileGlob(glob);
        assert.equal(pcreSafe(m.regex), undefined, `${glob} → ${m.regex.source}`);
        assert.ok(m.regex.source.startsWith('^(?:') && m.regex.source.endsWith(')$'));
        for (const v of inputs) {
          assert.equal(m.test(v), globMeans(glob, v), `${JSON.stringify(glob)} on ${JSON.stringify(v)}`);
          assert.equal(m.regex.test(v), m.test(v));
        }
      }),
      RUNS,
    );
  });

  it('a path glob too, with a leading /**/ also matching zero folders', () => {
    fc.assert(
      fc.property(pathGlobArb.chain((g) => fc.tuple(fc.constant(g), fc.array(inputsFor(g), { minLength: 1, maxLength: 8 }))), ([glob, inputs]) => {
        const m = compilePathGlob(glob);
        assert.equal(pcreSafe(m.regex), undefined, `${glob} → ${m.regex.source}`);
        for (const v of inputs) assert.equal(m.regex.test(v), globMeans(glob, v, { path: true }), `${JSON.stringify(glob)} on ${JSON.stringify(v)}`);
      }),
      RUNS,
    );
  });

  it('case-insensitive globs (methods, hosts) carry the i flag and decide as picomatch nocase', () => {
    fc.assert(
      fc.property(globArb.chain((g) => fc.tuple(fc.constant(g), fc.array(inputsFor(g), { minLength: 1, maxLength: 8 }))), ([glob, inputs]) => {
        const m = compileGlob(glob, { nocase: true });
        assert.equal(m.regex.flags, 'i');
        for (const v of inputs) assert.equal(m.regex.test(v), globMeans(glob, v, { nocase: true }), `${JSON.stringify(glob)} on ${JSON.stringify(v)}`);
      }),
      RUNS,
    );
  });

  const regexToken = fc.constantFrom('a', 'b', '.', '\\.', '/', '[0-9-]+', '[^/]*', '(x|y)?', '(?:ab)+', 'c{1,2}', '\\d', '\\w*', '-', '|', '.*', '(?!a)');
  const regexArb = fc.array(regexToken, { minLength: 1, maxLength: 6 }).map((t) => t.join('')).filter((r) => regexProblem(r) === undefined);

  it('a list of globs and regexes matches when any item matches, and stays one RegExp', () => {
    const atom: fc.Arbitrary<RuleAtom> = fc.oneof(pathGlobArb, regexArb.map((regex) => ({ regex })));
    fc.assert(
      fc.property(
        fc.array(atom, { minLength: 1, maxLength: 4 }).chain((items) =>
          fc.tuple(fc.constant(items), fc.array(inputsFor(items.map((i) => (typeof i === 'string' ? i : i.regex.replace(/[\\()|?+{}^]/g, ''))).join('')), { minLength: 1, maxLength: 10 })),
        ),
        ([items, inputs]) => {
          const m = compileValue(items, { path: true });
          assert.equal(pcreSafe(m.regex), undefined, m.regex.source);
          for (const v of inputs) {
            const expected = items.some((i) => (typeof i === 'string' ? globMeans(i, v, { path: true }) : new RegExp(`^(?:${i.regex})$`).test(v)));
            assert.equal(m.regex.test(v), expected, `${JSON.stringify(items)} on ${JSON.stringify(v)}`);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('rule values: the cases users write', () => {
  it('{ regex } must match the whole value', () => {
    const m = compileValue({ regex: '[0-9-]+' });
    assert.deepEqual(['1', '2024-01', '', 'a1', '1a', 'x.1'].map((v) => m.test(v)), [true, true, false, false, false, false]);
    const sitemap = compileValue({ regex: 'sitemap(-index)?' });
    assert.deepEqual(['sitemap', 'sitemap-index', 'sitemaps', 'x.sitemap'].map((v) => sitemap.test(v)), [true, true, false, false]);
    const alt = compileValue({ regex: 'a|b' });
    assert.deepEqual(['a', 'b', 'ab'].map((v) => alt.test(v)), [true, true, false], 'alternatives do not escape the anchors');
  });

  it('an empty string matches only an empty value; a glob never matches an empty value', () => {
    const none = compileValue('');
    assert.equal(none.test(''), true);
    assert.equal(none.test('x'), false);
    assert.equal(compileValue('*').test(''), false);
    assert.equal(compileValue('**').test(''), false);
    assert.equal(compileValue(['', 'json']).test(''), true);
    assert.equal(compileValue(['', 'json']).test('json'), true);
    assert.equal(compileValue({ regex: '()' }).test(''), true, "Dispatcher's '()' = no value");
  });

  it('a list is any of its items', () => {
    const m = compileValue(['html', { regex: 'jpe?g' }]);
    assert.deepEqual(['html', 'jpg', 'jpeg', 'png'].map((v) => m.test(v)), [true, true, true, false]);
  });

  it('POSIX classes in globs stay in the PCRE subset ([[:space:]] has no \\v)', () => {
    const m = compileValue('[[:space:]]x');
    assert.equal(regexProblem(m.regex.source), undefined, m.regex.source);
    assert.deepEqual([' x', '\tx', '\vx', 'ax'].map((v) => m.test(v)), [true, true, true, false]);
    assert.deepEqual(['\vx', 'ax'].map((v) => picomatch('[[:space:]]x', { dot: true })(v)), [true, false]);
  });

  it('picomatch quirks are kept, not papered over: `/a/**` matches `/a`; `*` matches a trailing slash', () => {
    assert.equal(compilePathGlob('/a/**').test('/a'), true);
    assert.equal(compilePathGlob('/a/*').test('/a/b/'), true);
    assert.equal(compilePathGlob('/a/*').test('/a'), false);
  });

  it('decideRule says which rule decided; -1 when none did (deny)', () => {
    const rules = compileValueRules([{ allow: '/**' }, { deny: '/content/private/**' }, { allow: { regex: '/content/private/ok\\.html' } }], { path: true });
    assert.deepEqual(decideRule(rules, '/content/a.html'), { allow: true, index: 0 });
    assert.deepEqual(decideRule(rules, '/content/private/a.html'), { allow: false, index: 1 });
    assert.deepEqual(decideRule(rules, '/content/private/ok.html'), { allow: true, index: 2 });
    assert.deepEqual(decideRule(compileValueRules([{ allow: '/a' }]), '/b'), { allow: false, index: -1 });
    assert.equal(decide(rules, '/content/private/a.html'), false);
  });
});

describe('regexProblem: the JavaScript/PCRE subset', () => {
  const ok = ['[0-9-]+', 'sitemap(-index)?', '(feed|rss|infinity|tidy|sysview|docview|query|[0-9-]+)', '/libs/.*', 'a{2,3}', '\\d+\\.json', '(?!x).*', '[\\]a]', '\\x2f', ''];
  for (const r of ok) it(`accepts ${JSON.stringify(r)}`, () => assert.equal(regexProblem(r), undefined));
  const bad: [string, RegExp][] = [
    ['(', /invalid regex "\(": Unterminated group/],
    ['[[:digit:]]+', /POSIX bracket expressions/],
    ['[]a]', /"\[\]" and "\[\^\]"/],
    ['\\s+', /differs between JavaScript and PCRE/],
    ['(a)\\1', /back-references/],
    ['(?<n>a)', /lookbehinds and named groups/],
    ['(?<=a)b', /lookbehinds and named groups/],
    ['(?i)a', /Invalid group/],
    ['(?P<n>a)', /Invalid group|not supported/],
    ['a{,3}', /not a quantifier/],
    ['a}', /lone "}"/],
    ['\\p{L}', /"\\p" is not supported/],
    ['\\u0041', /"\\u" is not supported/],
    ['\\v', /"\\v" is not supported/],
  ];
  for (const [r, why] of bad) it(`refuses ${JSON.stringify(r)}`, () => assert.match(regexProblem(r) ?? '', why));
});
