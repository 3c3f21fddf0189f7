/**
 * `/filter` → farm `filter`, exactly. Each Dispatcher rule `{ /type … /url … /path … }` becomes
 * farmgate items that match exactly the requests it matched (values.ts carries each value; a
 * key given twice is one lookahead regex; `/glob` request lines are cut by request-line.ts).
 *
 * When a condition cannot be carried exactly the import errs on the safe side and says so with
 * file and line: an allow is dropped (farmgate allows less), a deny loses that condition
 * (farmgate denies more). A `/type` given by a `${VAR}` is read from the import environment;
 * unset, the rule is imported as a deny.
 */
import type { FilterMatch, RuleItem } from '../config/schema.js';
import { FILTER_KEYS, type FilterKey } from '../farms/filter.js';
import type { RuleValue } from '../farms/match.js';
import { properties, scalarOf, type Block, type Loc, type Property, type Scalar } from './ast.js';
import { parseDispatcherGlob, tokensRegExp } from './dglob.js';
import { hasVar, quoted, resolveVars, type Env, type Inexact, type Warnings } from './notes.js';
import { translatePosixRegex } from './posix-regex.js';
import { decomposeRequestLine, PROTOCOLS, type LineTerm } from './request-line.js';
import { routePrefix, type RoutePrefix } from './routes.js';
import { andValues, ALWAYS_VALUE, carryValue, NEVER_VALUE, varsOf, type CarriedValue, type ValueKind } from './values.js';

export interface ConvertedFilter {
  readonly rules: RuleItem<FilterMatch>[];
  /** The Dispatcher rule each output item came from. */
  readonly origins: Loc[];
  /** Literal url/path prefixes of allow rules, for deriving flushRoutes. */
  readonly allowPrefixes: RoutePrefix[];
  readonly inexact: Inexact[];
}

const KINDS: Record<string, [FilterKey, ValueKind]> = {
  method: ['method', 'method'],
  url: ['url', 'path'],
  path: ['path', 'path'],
  selectors: ['selectors', 'plain'],
  extension: ['extension', 'plain'],
  suffix: ['suffix', 'plain'],
  query: ['query', 'plain'],
};

export function convertFilter(filter: Block, env: Env, w: Warnings): ConvertedFilter {
  const out: ConvertedFilter = { rules: [], origins: [], allowPrefixes: [], inexact: [] };
  for (const item of filter.items) {
    if (item.kind === 'scalar') {
      w.add(item.loc, `/filter value ${quoted(item)} not carried over: it is not a rule (Dispatcher ignores it too); a rule is /label { /type "deny" /url "*" }`);
      continue;
    }
    if (item.value.kind !== 'block') {
      w.skip(item, 'a filter rule is a block { /type … }; Dispatcher ignores this one too');
      continue;
    }
    convertRule(item, item.value, env, w, out);
  }
  return out;
}

/** The rule's type; a `${VAR}` from the environment; anything unknown is a deny. */
function ruleType(p: Property, rule: Block, env: Env, w: Warnings, label: string): 'allow' | 'deny' {
  const t = scalarOf(rule, 'type');
  if (!t) {
    w.add(p.loc, `${label} has no /type: imported as a deny, the stricter reading; give it /type "allow" and import again if it should let requests through`);
    return 'deny';
  }
  let text = t.text;
  if (hasVar(t)) {
    const resolved = resolveVars(t.text, env);
    const names = varsOf(t.text).map((v) => v.slice(2, -1));
    if (resolved === undefined) {
      w.add(t.loc, `${label} /type ${quoted(t)}: ${names.join(', ')} is not set in the import environment, so this rule is imported as a deny (the stricter reading). Set ${names[0]}=allow or ${names[0]}=deny as on your servers and import again`);
      return 'deny';
    }
    text = resolved;
    w.add(t.loc, `note: ${label} /type ${quoted(t)} is "${resolved}" in the import environment and was imported as such`);
  }
  const type = text.trim().toLowerCase();
  if (type === 'allow' || type === 'deny') return type;
  w.add(t.loc, `${label} /type ${JSON.stringify(text)} is neither "allow" nor "deny": imported as a deny, the stricter reading`);
  return 'deny';
}

interface Problem {
  readonly prop: Property;
  readonly why: string;
}

function convertRule(p: Property, rule: Block, env: Env, w: Warnings, out: ConvertedFilter): void {
  const label = `/filter /${p.name}`;
  const type = ruleType(p, rule, env, w, label);
  const conds = new Map<FilterKey, CarriedValue>();
  const add = (key: FilterKey, v: CarriedValue) => conds.set(key, conds.has(key) ? andValues(conds.get(key)!, v) : v);
  const problems: Problem[] = [];
  let lineTerms: LineTerm[] | undefined;
  let lineProp: Property | undefined;

  for (const prop of properties(rule)) {
    if (prop.name === 'type') continue;
    if (prop.value.kind !== 'scalar') {
      problems.push({ prop, why: 'is a block, not a value' });
      continue;
    }
    const v = prop.value;
    if (hasVar(v)) noteVars(v, label, prop, env, w);
    const kind = KINDS[prop.name];
    if (kind) {
      const c = carryValue(v, kind[1]);
      if (c.ok) add(kind[0], c.v);
      else problems.push({ prop, why: c.why });
    } else if (prop.name === 'protocol') {
      const matched = protocolsMatched(v);
      if (typeof matched === 'string') problems.push({ prop, why: matched });
      else if (matched.length === 0) add('url', NEVER_VALUE);
      else if (matched.length < PROTOCOLS.length) {
        problems.push({ prop, why: `holds only for ${matched.join(', ')}, and farmgate does not filter on the protocol` });
      }
    } else if (prop.name === 'glob') {
      if (v.quote === "'") {
        problems.push({ prop, why: 'is a regex on the whole request line, which farmgate cannot cut into method, url and query' });
        continue;
      }
      const d = decomposeRequestLine(v.text);
      if (!d.ok) problems.push({ prop, why: d.why });
      else {
        lineTerms = lineTerms ? lineTerms.flatMap((a) => d.terms.map((b) => andTerms(a, b))) : d.terms;
        lineProp = prop;
      }
    } else {
      problems.push({ prop, why: 'is not a filter key farmgate knows (url, method, path, selectors, extension, suffix, query, protocol, glob)' });
    }
  }

  for (const { prop, why } of problems) {
    const what = `/${prop.name}${prop.value.kind === 'scalar' ? ' ' + quoted(prop.value) : ''}`;
    if (type === 'allow') {
      w.add(prop.loc, `${label} (allow) not carried over: ${what} ${why}. The import is narrower than Dispatcher here: the requests this rule allowed are decided by the rules before it; write a farmgate rule for them by hand if you need them`);
    } else {
      w.add(prop.loc, `${label} (deny): ${what} ${why}, so the deny is imported without that condition and now also denies requests Dispatcher let through. Narrow it by hand if that is too broad`);
    }
  }
  if (type === 'allow' && problems.length > 0) {
    out.inexact.push({ loc: p.loc, kind: 'narrowed' });
    return;
  }
  let widened = type === 'deny' && problems.length > 0;

  const terms: (LineTerm | undefined)[] = lineTerms ?? [undefined];
  let emitted = 0;
  for (const term of terms) {
    const keys = new Map(conds);
    if (term) {
      for (const [k, v] of [['method', term.method], ['url', term.url], ['query', term.query]] as const) {
        if (v) keys.set(k, keys.has(k) ? andValues(keys.get(k)!, v) : v);
      }
      if (term.inexact) {
        const what = `the part of /glob ${quoted(lineProp!.value as Scalar)} for url ${describe(term.url.value)}`;
        if (type === 'allow') {
          w.add(lineProp!.loc, `${label} (allow): ${what} not carried over: in Dispatcher it holds only ${term.inexact}, which farmgate cannot test. The import is narrower than Dispatcher there`);
          out.inexact.push({ loc: p.loc, kind: 'narrowed' });
          continue;
        }
        w.add(lineProp!.loc, `${label} (deny): ${what} holds in Dispatcher only ${term.inexact}; farmgate denies it for every request (stricter)`);
        widened = true;
      }
    }
    const never = [...keys.values()].some((v) => v.nothing);
    if (never && type === 'allow') continue; // allows nothing: leaving it out changes nothing
    const match: Record<string, unknown> = {};
    for (const k of FILTER_KEYS) {
      const v = never ? (k === 'url' ? NEVER_VALUE : undefined) : keys.get(k);
      if (v && !v.everything) match[k] = v.value;
    }
    if (Object.keys(match).length === 0) match.url = ALWAYS_VALUE.value;
    out.rules.push(type === 'allow' ? { allow: match as FilterMatch } : { deny: match as FilterMatch });
    out.origins.push(p.loc);
    emitted++;
    if (type === 'allow' && !never) {
      for (const name of ['url', 'path'] as const) {
        const src = term && name === 'url' ? (lineProp!.value as Scalar) : scalarOf(rule, name);
        const prefix = src && routePrefix(src, term !== undefined && name === 'url' ? term.url : undefined);
        if (prefix) out.allowPrefixes.push({ ...prefix, loc: p.loc });
      }
    }
  }
  if (lineTerms && emitted === 0 && type === 'deny') {
    w.add(lineProp!.loc, `note: ${label} /glob ${quoted(lineProp!.value as Scalar)} matches no request line farmgate can receive; imported as a deny that never matches`);
    out.rules.push({ deny: { url: NEVER_VALUE.value } as FilterMatch });
    out.origins.push(p.loc);
  }
  if (lineTerms && emitted > 0) {
    w.add(lineProp!.loc, `note: ${label} /glob ${quoted(lineProp!.value as Scalar)} (the deprecated request-line glob) became ${emitted === 1 ? 'a farmgate rule' : `${emitted} farmgate rules, one per way it splits`} on method, url and query`);
  }
  if (widened) out.inexact.push({ loc: p.loc, kind: 'widened' });
}

/** A rule value as a reader of the YAML sees it. */
function describe(v: RuleValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  return `{ regex: '${(v as { regex: string }).regex}' }`;
}

function andTerms(a: LineTerm, b: LineTerm): LineTerm {
  const both = (x: CarriedValue | undefined, y: CarriedValue | undefined) => (x && y ? andValues(x, y) : (x ?? y));
  return {
    method: both(a.method, b.method),
    url: andValues(a.url, b.url),
    query: both(a.query, b.query),
    inexact: [a.inexact, b.inexact].filter(Boolean).join(' and ') || undefined,
  };
}

/** The protocols a `/protocol` value matches, or why it cannot be read. */
function protocolsMatched(v: Scalar): string[] | string {
  let re: RegExp;
  if (v.quote === "'") {
    const t = translatePosixRegex(v.text);
    if (!t.ok) return t.why;
    re = new RegExp(`^(?:${t.source})$`);
  } else {
    const g = parseDispatcherGlob(v.text);
    if (!g.ok) return [];
    re = tokensRegExp(g.tokens);
  }
  return PROTOCOLS.filter((p) => re.test(p));
}

/** A note per value that keeps a `${VAR}`: its value must be plain text to match as before. */
function noteVars(v: Scalar, label: string, prop: Property, env: Env, w: Warnings): void {
  if (prop.name === 'type') return;
  for (const name of varsOf(v.text).map((x) => x.slice(2, -1))) {
    const value = env[name];
    if (value !== undefined && !/^[A-Za-z0-9_/-]*$/.test(value)) {
      w.add(v.loc, `${label} /${prop.name} ${quoted(v)}: \${${name}} is ${JSON.stringify(value)} in the import environment; farmgate substitutes it into a farmgate glob or regex, where its special characters may match differently than in Dispatcher. Write the value out in the rule`);
    } else {
      w.add(v.loc, `note: ${label} /${prop.name} ${quoted(v)} keeps \${${name}}: farmgate substitutes it when it loads the config; it matches as in Dispatcher while its value is plain text (letters, digits, - _ /)`);
    }
  }
}
