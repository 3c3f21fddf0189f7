/**
 * A farm's `/cache` → farm `docroot` and `cache`, and its `/allowedClients` → the exact set of
 * clients it lets flush (Dispatcher checks flush clients per farm; farmgate before any farm is
 * chosen, so convert.ts intersects the farms' sets).
 *
 * `/rules`, `/invalidate` and `/ignoreUrlParams` values are carried exactly (values.ts). When
 * one cannot be, the item errs on the safe side: for `/rules` (what may be cached) and
 * `/ignoreUrlParams` (which parameters are ignored) a deny is widened to everything and an
 * allow dropped; for `/invalidate` (what goes stale on a flush) the reverse.
 */
import type { RuleItem } from '../config/schema.js';
import type { RuleValue } from '../farms/match.js';
import { isSetByFarmgate } from '../header-names.js';
import { listValues, properties, scalarOf, type Block, type Loc, type Property } from './ast.js';
import { clientGlobSet, NO_CLIENTS, subtract, union, type ClientSet } from './clients.js';
import { flagOf, hasVar, numberOf, quoted, resolveVars, type Env, type Inexact, type Warnings } from './notes.js';
import type { RoutePrefix } from './routes.js';
import { routePrefix } from './routes.js';
import { ALWAYS_VALUE, carryValue, type ValueKind } from './values.js';

export interface ConvertedCache {
  docroot?: string;
  readonly cache: Record<string, unknown>;
  /** The clients this farm lets flush, when it says. */
  allowedClients?: { readonly set: ClientSet; readonly loc: Loc };
  /** Allowed `/rules` prefixes, for deriving flushRoutes. */
  readonly ruleAllows: RoutePrefix[];
  readonly inexact: (Inexact & { readonly list: string })[];
}

const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The side that is safe to widen: more files not cached, parameters not ignored, files stale. */
const SAFE_SIDE: Record<string, 'allow' | 'deny'> = { rules: 'deny', ignoreUrlParams: 'deny', invalidate: 'allow' };

export function convertCache(block: Block, env: Env, w: Warnings): ConvertedCache {
  const out: ConvertedCache = { cache: {}, ruleAllows: [], inexact: [] };
  for (const p of properties(block)) {
    const v = p.value.kind === 'scalar' ? p.value : undefined;
    const b = p.value.kind === 'block' ? p.value : undefined;
    switch (p.name) {
      case 'docroot':
        if (v) out.docroot = v.text;
        else shape(p, 'a value');
        break;
      case 'statfileslevel':
        if (v) number(p, 'statfileslevel', 1);
        else shape(p, 'a value');
        break;
      case 'gracePeriod':
        if (v) number(p, 'gracePeriodMs', 1000);
        else shape(p, 'a value');
        break;
      case 'enableTTL':
      case 'serveStaleOnError':
      case 'allowAuthorized':
        if (v) flag(p, p.name);
        else shape(p, 'a value');
        break;
      case 'rules':
      case 'invalidate':
      case 'ignoreUrlParams':
        if (b) {
          const list = ruleList(b, p.name === 'ignoreUrlParams' ? 'plain' : 'path', p.name, env, w);
          out.cache[p.name] = list.rules;
          out.inexact.push(...list.inexact.map((x) => ({ ...x, list: p.name })));
          if (p.name === 'rules') out.ruleAllows.push(...list.allowPrefixes);
        } else shape(p, 'a block');
        break;
      case 'headers':
        if (b) out.cache.headers = headers(b, w);
        else shape(p, 'a block');
        break;
      case 'allowedClients':
        if (b) out.allowedClients = { set: allowedClients(b, env, w), loc: p.loc };
        else shape(p, 'a block');
        break;
      case 'statfile':
        w.skip(p, 'farmgate always uses .stat files placed by statfileslevel');
        break;
      case 'invalidateHandler':
        w.skip(p, 'farmgate runs no script on flush; use flushRoutes (one handle can reach several farms) or the admin API');
        break;
      case 'mode':
        w.skip(p, 'cached files get the farmgate process umask; set it where farmgate is started');
        break;
      default:
        w.skip(p, 'not a farmgate cache setting');
    }
  }
  return out;

  function shape(p: Property, expected: string): void {
    w.skip(p, `expected ${expected}`);
  }

  function number(p: Property, key: string, scale: number): void {
    const v = p.value as Parameters<typeof numberOf>[0];
    const n = numberOf(v, env);
    if (n !== undefined) {
      out.cache[key] = n * scale;
      if (hasVar(v)) w.add(p.loc, `note: /${p.name} ${quoted(v)} resolved to ${n} from the environment (farmgate needs a number here)`);
    } else {
      w.skip(p, hasVar(v)
        ? `${quoted(v)} is not set in the environment and farmgate needs a number; set it and import again, or edit ${key}`
        : `${quoted(v)} is not a whole number`);
    }
  }

  function flag(p: Property, key: string): void {
    const v = p.value as Parameters<typeof flagOf>[0];
    const f = flagOf(v, env);
    if (f !== undefined) out.cache[key] = f;
    else w.skip(p, `${quoted(v)} is not "0" or "1"${hasVar(v) ? ' (set the variable in the environment and import again)' : ''}`);
  }
}

/** A rule type; a `${VAR}` from the environment; unknown → `fallback` (the safe side). */
function entryType(item: Property, block: Block, key: string, env: Env, w: Warnings, fallback: 'allow' | 'deny'): 'allow' | 'deny' {
  const t = scalarOf(block, 'type');
  const text = t ? resolveVars(t.text, env) : undefined;
  const type = text?.trim().toLowerCase();
  if (type === 'allow' || type === 'deny') {
    if (t && hasVar(t)) w.add(t.loc, `note: /${key} /${item.name} /type ${quoted(t)} is "${text}" in the import environment and was imported as such`);
    return type;
  }
  const why = !t ? 'has no /type' : hasVar(t) && text === undefined ? `/type ${quoted(t)} is not set in the import environment` : `/type ${quoted(t)} is neither "allow" nor "deny"`;
  w.add((t ?? item).loc, `/${key} /${item.name} ${why}: imported as ${fallback === 'deny' ? 'a deny' : 'an allow'}, the safe reading here; set it and import again to carry the value your servers use`);
  return fallback;
}

/** `{ /0000 { /glob "*" /type "deny" } … }` → `[{ deny: { regex: ".*" } }, …]`, exactly. */
export function ruleList(block: Block, kind: ValueKind, key: string, env: Env, w: Warnings) {
  const safe = SAFE_SIDE[key] ?? 'deny';
  const rules: RuleItem<RuleValue>[] = [];
  const inexact: Inexact[] = [];
  const allowPrefixes: RoutePrefix[] = [];
  for (const item of block.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/${key} entry ${item.kind === 'scalar' ? quoted(item) : `/${item.name}`} not carried over: expected /label { /glob "…" /type "allow|deny" }; Dispatcher ignores it too`);
      continue;
    }
    const glob = scalarOf(item.value, 'glob');
    if (!glob) {
      w.skip(item, `a /${key} entry needs /glob; Dispatcher ignores it too`);
      continue;
    }
    const type = entryType(item, item.value, key, env, w, safe);
    for (const q of properties(item.value)) {
      if (q.name !== 'glob' && q.name !== 'type') w.skip(q, `not a /${key} setting; the entry is kept without it`);
    }
    const c = carryValue(glob, kind);
    if (c.ok) {
      rules.push(type === 'allow' ? { allow: c.v.value } : { deny: c.v.value });
      if (type === 'allow' && key === 'rules') {
        const prefix = routePrefix(glob, c.v);
        if (prefix) allowPrefixes.push({ ...prefix, loc: item.loc });
      }
      continue;
    }
    if (type === safe) {
      rules.push(type === 'allow' ? { allow: ALWAYS_VALUE.value } : { deny: ALWAYS_VALUE.value });
      inexact.push({ loc: item.loc, kind: 'widened' });
      w.add(glob.loc, `/${key} /${item.name} (${type}) ${quoted(glob)} cannot be carried exactly (${c.why}), so it was widened to every value; narrow it by hand`);
    } else {
      inexact.push({ loc: item.loc, kind: 'narrowed' });
      w.add(glob.loc, `/${key} /${item.name} (${type}) ${quoted(glob)} not carried over: ${c.why}; farmgate errs on the safe side without it; write the rule by hand if you need it`);
    }
  }
  return { rules, inexact, allowPrefixes };
}

/** `/headers`: literal names, except those farmgate sets itself for every response. */
function headers(block: Block, w: Warnings): string[] {
  const out: string[] = [];
  for (const s of listValues(block)) {
    if (!HEADER.test(s.text) || /[*?[]/.test(s.text)) w.add(s.loc, `/headers ${quoted(s)} not carried over: expected a literal header name`);
    else if (isSetByFarmgate(s.text)) {
      w.add(s.loc, `/headers ${quoted(s)} not carried over: farmgate sets ${s.text} itself on every response; a stored copy beside it would make a malformed response`);
    } else out.push(s.text);
  }
  return out;
}

/**
 * Dispatcher's rule list on client addresses, applied in order as set union (allow) and
 * difference (deny) over the exact sets the globs match; no match denies.
 */
function allowedClients(block: Block, env: Env, w: Warnings): ClientSet {
  let allowed = NO_CLIENTS;
  for (const item of block.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/allowedClients entry not carried over: expected /label { /glob "…" /type "allow|deny" }; Dispatcher ignores it too`);
      continue;
    }
    const glob = scalarOf(item.value, 'glob');
    if (!glob) {
      w.skip(item, 'an /allowedClients entry needs /glob; Dispatcher ignores it too');
      continue;
    }
    const type = entryType(item, item.value, 'allowedClients', env, w, 'deny');
    const found = clientGlobSet(glob.text);
    const set = 'why' in found ? undefined : found;
    if (type === 'allow') {
      if (set) allowed = union(allowed, set);
      else w.add(glob.loc, `/allowedClients allow ${quoted(glob)} not carried over: ${(found as { why: string }).why}; write the addresses or CIDRs`);
      continue;
    }
    if (!set) {
      allowed = NO_CLIENTS;
      w.add(glob.loc, `/allowedClients deny ${quoted(glob)} cannot be carried exactly (${(found as { why: string }).why}): every client allowed before it was removed (the safe reading)`);
      continue;
    }
    const before = allowed;
    allowed = subtract(allowed, set);
    const lost = before.vars.filter((v) => !allowed.vars.includes(v) && !set.vars.includes(v));
    if (lost.length > 0) {
      w.add(glob.loc, `/allowedClients deny ${quoted(glob)} may cover ${lost.join(', ')} allowed before it; they were removed (the safe reading). Move the deny above them if that is not what you meant`);
    }
  }
  return allowed;
}

