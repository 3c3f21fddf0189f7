/**
 * The safety invariant as a differential check: a dispatcher.any evaluated directly with
 * Dispatcher's semantics (dispatcher-oracle.ts) against the farmgate config the importer makes
 * of it, loaded and compiled as `farmgate serve` would, on the same requests (the tree's own
 * vocabulary of paths, selectors, extensions, suffixes and queries, plus generated ones).
 *
 * For every farm and request the verdicts must be identical, except where the importer said it
 * could not carry a rule exactly: then farmgate may only be stricter (an allow the importer
 * narrowed, a deny it widened), never more permissive. The same holds for `/rules` (cached or
 * not), `/ignoreUrlParams`, `/invalidate` (where staler is the safe side) and the flush
 * clients (`/allowedClients` of every farm against the one `flush.allowedClients`).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { handleProblem } from '../../src/cache/doc-path.js';
import { parseConfig } from '../../src/config/index.js';
import { blockOf, scalarOf, type Block, type Loc } from '../../src/dispatcher-any/ast.js';
import { convertDispatcher, type ConvertResult } from '../../src/dispatcher-any/convert.js';
import { renderYaml } from '../../src/dispatcher-any/index.js';
import { compileFarm, type Farm } from '../../src/farms/farm.js';
import { filterInput } from '../../src/farms/filter.js';
import { decideRule } from '../../src/farms/match.js';
import { compileAddressList } from '../../src/net/client-address.js';
import { dispatcherFarms, evalFilter, evalGlobList, type Decision, type DRequest, type Env, type Verdict } from './dispatcher-oracle.js';
import { instantiate, vocabulary } from './dispatcher-vocabulary.js';

export interface SafetyReport {
  readonly requests: number;
  /** Requests where farmgate was stricter, explained by a rule the importer reported as inexact. */
  readonly stricter: number;
  readonly farms: number;
  /** Farm × request pairs Dispatcher allowed (a check that only ever saw denials would prove little). */
  readonly allowed: number;
}

const sameLoc = (a: Loc | undefined, b: Loc | undefined) => !!a && !!b && a.file === b.file && a.line === b.line;

/** Requests built from a tree's vocabulary plus generated parts. */
export function requestArbitrary(root: Block): fc.Arbitrary<DRequest> {
  const { fragments, patterns } = vocabulary(root);
  const urls = fragments.filter((f) => f.startsWith('/') && handleProblem(f) === undefined);
  const parts = [...new Set(fragments.flatMap((f) => f.split(/[/.=]+/)).filter((p) => p.length > 0 && p.length < 30))];
  const seg = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...parts, 'content', 'a', 'x', 'en') },
    { weight: 1, arbitrary: fc.constantFrom('1', '2024-01', 'jcr:content', '_jcr_content', 'a b', 'é', 'x-y', 'Content', '%41') },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '1', '-', '_', ':', '~', '*', '?', '[', ']', '(', ')', '{', '}', '!', '+', '@', '$'), minLength: 1, maxLength: 5 }) },
  );
  const vocabUrl = urls.length > 0 ? fc.constantFrom(...urls) : fc.constant('/content/');
  const instance =
    patterns.length > 0
      ? fc.tuple(fc.constantFrom(...patterns), fc.array(fc.nat(), { minLength: 1, maxLength: 8 })).map(([p, picks]) => {
          const v = instantiate(p.s, picks);
          // A request-line glob: keep its URL part.
          return p.line ? (v.split(' ')[1] ?? v) : v.startsWith('/') ? v : '/' + v;
        })
      : fc.constant('/content');
  const base = fc.oneof(
    { weight: 6, arbitrary: instance },
    { weight: 2, arbitrary: vocabUrl },
    // A vocabulary prefix ending in "/" (from "/content/*") continues with a segment or two.
    { weight: 4, arbitrary: fc.tuple(vocabUrl, fc.array(seg, { minLength: 1, maxLength: 2 })).map(([u, a]) => u.replace(/\/$/, '') + '/' + a.join('/')) },
    { weight: 1, arbitrary: fc.array(seg, { minLength: 0, maxLength: 4 }).map((a) => '/' + a.join('/')) },
    // One character of a vocabulary URL changed: where a regex "." or a class differs from a literal.
    {
      weight: 1,
      arbitrary: fc
        .tuple(vocabUrl, fc.nat(), fc.constantFrom('X', '.', '/', '-', '_', 'a', 'A'))
        .map(([u, i, c]) => (u.length < 2 ? u : u.slice(0, 1 + (i % (u.length - 1))) + c + u.slice(2 + (i % (u.length - 1))))),
    },
  );
  const word = fc.oneof(fc.constantFrom(...parts, 'html', 'json', 'xml', 'css', 'js', 'png', 'model', 'infinity', '1', '2-3', 'a1', 'sitemap-index'), seg);
  const tail = fc.record({
    dotted: fc.option(fc.array(word, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 4 }),
    suffix: fc.option(fc.array(seg, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 1 }),
    suffixExt: fc.option(word, { nil: undefined }),
  });
  const url = fc.tuple(base, tail).map(([b, t]) => {
    let u = b;
    if (t.dotted) u += '.' + t.dotted.join('.');
    if (t.suffix) u += '/' + t.suffix.join('/') + (t.suffixExt ? '.' + t.suffixExt : '');
    return u;
  });
  const query = fc.option(
    fc.oneof(
      fc.constantFrom('', 'debug=1', 'wcmmode=disabled', 'q=1', 'a=1&b=2', ...parts.slice(0, 40).map((p) => `${p}=1`)),
      fc.string({ unit: fc.constantFrom('a', '=', '&', '1', '?', '/', '%', '*', 'd', 'e', 'b', 'u', 'g'), maxLength: 12 }),
    ),
    { nil: undefined },
  );
  return fc
    .record({
      method: fc.oneof({ weight: 4, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') }),
      url,
      query,
      protocol: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
    })
    .filter((r) => handleProblem(r.url) === undefined);
}

/** Is farmgate's verdict allowed, given Dispatcher's and what the importer reported? */
function judge(
  what: string,
  d: Decision,
  ours: boolean,
  safe: 'allow' | 'deny',
  explained: () => boolean,
): 'same' | 'safer' {
  const theirs = d.verdict === 'either' ? safe : d.verdict;
  const ourVerdict = ours ? 'allow' : 'deny';
  if (ourVerdict === theirs) return 'same';
  assert.equal(ourVerdict, safe, `${what}: Dispatcher ${d.verdict}${d.rule ? ` (rule at ${d.rule.file}:${d.rule.line})` : ''}, farmgate ${ourVerdict}: less restrictive than the original`);
  assert.ok(explained(), `${what}: Dispatcher ${d.verdict}${d.rule ? ` (rule at ${d.rule.file}:${d.rule.line})` : ''}, farmgate ${ourVerdict}, and the importer reported no inexact rule that explains it`);
  return 'safer';
}

/**
 * Imports `root`, loads the YAML with `env`, and checks every farm on `runs` generated requests
 * (plus parameter names and client addresses). Throws an AssertionError naming the request.
 */
export function checkSafety(root: Block, env: Env, opts: { runs: number; seed: number; extraRequests?: DRequest[] }): SafetyReport {
  const result: ConvertResult = convertDispatcher(root, env);
  const yaml = renderYaml('tree.any', ['tree.any'], result, result.warnings.length);
  const config = parseConfig(yaml, 'import.yaml', env);
  const compiled = new Map(config.farms.map((f) => [f.name, compileFarm(f)]));
  const dFarms = dispatcherFarms(root);
  const pairs: { d: (typeof dFarms)[number]; f: Farm; details: ConvertResult['details'][number] }[] = [];
  result.sources.forEach((s, i) => {
    const d = dFarms.find((x) => x.name === s.dispatcherName && sameLoc(x.loc, s.loc));
    assert.ok(d, `farm /${s.dispatcherName} found in the tree`);
    pairs.push({ d, f: compiled.get(s.name)!, details: result.details[i]! });
  });
  const inexact = (details: (typeof pairs)[number]['details'], list: string, kind: 'narrowed' | 'widened', loc: Loc | undefined) =>
    details.inexact.some((x) => x.list === list && x.kind === kind && sameLoc(x.loc, loc));

  let requests = 0;
  let stricter = 0;
  let allowed = 0;
  const check = (req: DRequest) => {
    requests++;
    for (const { d, f, details } of pairs) {
      const what = `farm /${d.name}: ${req.method} ${req.url}${req.query === undefined ? '' : '?' + req.query} ${req.protocol}`;
      const theirs = evalFilter(d.block, req, env);
      if (theirs.verdict === 'allow') allowed++;
      const ours = f.rules.filter.decide(filterInput(req.url, req.method, req.query));
      const origin = ours.index >= 0 ? details.filterOrigins[ours.index] : undefined;
      if (judge(what, theirs, ours.allow, 'deny', () => inexact(details, 'filter', 'narrowed', theirs.rule) || inexact(details, 'filter', 'widened', origin)) === 'safer') stricter++;
      const cache = blockOf(d.block, 'cache');
      for (const [list, rules, safe] of [
        ['rules', f.rules.cache, 'deny'],
        ['invalidate', f.rules.invalidate, 'allow'],
      ] as const) {
        const block = cache && blockOf(cache, list);
        if (!block) continue;
        const t = evalGlobList(block, req.url, env);
        const o = decideRule(rules, req.url);
        // The importer reports inexact /rules and /invalidate items by list: any of them explains it.
        judge(`${what} /${list}`, t, o.allow, safe, () => details.inexact.some((x) => x.list === list));
      }
    }
  };
  for (const r of opts.extraRequests ?? []) check(r);
  fc.assert(fc.property(requestArbitrary(root), (r) => check(r)), { numRuns: opts.runs, seed: opts.seed });

  // Parameter names (/ignoreUrlParams) and flush clients (/allowedClients).
  const { fragments, ips } = vocabulary(root);
  const names = [...new Set([...fragments.filter((f) => /^[A-Za-z0-9_-]+$/.test(f)), 'utm_source', 'q', 'debug', 'x', 'gclid', 'utm_', ''])];
  for (const { d, f, details } of pairs) {
    const block = blockOf(d.block, 'cache');
    const list = block && blockOf(block, 'ignoreUrlParams');
    if (!list) continue;
    for (const name of names) {
      judge(`farm /${d.name} /ignoreUrlParams ${JSON.stringify(name)}`, evalGlobList(list, name, env), decideRule(f.rules.ignoreUrlParams, name).allow, 'deny', () =>
        details.inexact.some((x) => x.list === 'ignoreUrlParams'),
      );
    }
  }
  // Who may flush: in Dispatcher a client can act on a farm's files through any farm whose
  // docroot holds them and whose /allowedClients (none = anyone) lets it in; farmgate has one list
  // for every farm that receives flushes.
  const doors = dFarms
    .map((x) => {
      const c = blockOf(x.block, 'cache');
      const docroot = c && scalarOf(c, 'docroot');
      return { name: x.name, docroot: docroot ? docroot.text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, n: string) => env[n] ?? '') : undefined, list: c && blockOf(c, 'allowedClients') };
    })
    .filter((d) => d.docroot !== undefined);
  const within = (outer: string, inner: string) => inner.replace(/\/+$/, '') === outer.replace(/\/+$/, '') || inner.startsWith(outer.replace(/\/+$/, '') + '/');
  const flushedFarms = pairs.filter((p) => p.f.config.flushRoutes.length > 0).map((p) => doors.find((d) => d.name === p.d.name)).filter((d) => d !== undefined);
  if (doors.some((d) => d.list !== undefined) && flushedFarms.length > 0) {
    const allowed = compileAddressList(config.flush.allowedClients);
    const envIps = Object.values(env).filter((v): v is string => v !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(v));
    const sample = new Set(['127.0.0.1', '10.0.0.1', '10.20.3.4', '192.168.1.1', '0.0.0.0', '255.255.255.255', '::1', ...envIps]);
    for (const ip of ips) {
      for (const v of ['0', '1', '9', '10', '99', '100', '200', '255', '1.2', '3.4.5']) sample.add(ip.replace(/\$\{[^}]*\}/g, '1').replace(/\*/g, v).replace(/\?/g, '1'));
    }
    for (const ip of sample) {
      const octets = ip.split('.');
      const v4 = octets.length === 4 && octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255);
      if (!v4 && !/^[0-9a-f:]+$/i.test(ip)) continue;
      const reaches = (f: (typeof doors)[number]): Verdict => {
        const verdicts = doors.filter((g) => within(g.docroot!, f.docroot!)).map((g) => (g.list ? evalGlobList(g.list, ip, env).verdict : 'allow'));
        return verdicts.includes('allow') ? 'allow' : verdicts.includes('either') ? 'either' : 'deny';
      };
      const each = flushedFarms.map(reaches);
      const theirs: Decision = { verdict: each.every((v) => v === 'allow') ? 'allow' : each.includes('deny') ? 'deny' : 'either', rule: undefined };
      judge(`flush client ${ip}`, theirs, allowed(ip), 'deny', () => false);
    }
  }
  return { requests, stricter, farms: pairs.length, allowed };
}
