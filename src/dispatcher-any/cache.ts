/**
 * A farm's `/cache` → farm `docroot` and `cache`, and its `/allowedClients` → candidates for the
 * global `flush.allowedClients` (Dispatcher checks flush clients per farm; farmgate before any
 * farm is chosen).
 */
import type { RuleItem } from '../config/schema.js';
import { listValues, properties, scalarOf, type Block, type Loc, type Property } from './ast.js';
import { clientGlobToCidr, type GlobKind } from './globs.js';
import { convertValue, flagOf, hasVar, numberOf, quoted, type Warnings } from './notes.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConvertedCache {
  docroot?: string;
  readonly cache: Record<string, unknown>;
  /** IPs/CIDRs this farm lets flush, when it says. */
  allowedClients?: { readonly clients: string[]; readonly loc: Loc };
  /** Allowed `/rules` globs, for deriving flushRoutes. */
  readonly ruleAllows: { readonly glob: string; readonly loc: Loc }[];
}

const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function convertCache(block: Block, env: Env, w: Warnings): ConvertedCache {
  const out: ConvertedCache = { cache: {}, ruleAllows: [] };
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
        if (b) {
          const rules = ruleList(b, 'path', p.name, w);
          out.cache[p.name] = rules;
          if (p.name === 'rules') for (const r of rules) if (r.allow) out.ruleAllows.push({ glob: r.allow, loc: p.loc });
        } else shape(p, 'a block');
        break;
      case 'ignoreUrlParams':
        if (b) out.cache.ignoreUrlParams = ruleList(b, 'word', p.name, w);
        else shape(p, 'a block');
        break;
      case 'headers':
        if (b) out.cache.headers = headers(b, w);
        else shape(p, 'a block');
        break;
      case 'allowedClients':
        if (b) out.allowedClients = { clients: allowedClients(b, w), loc: p.loc };
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

/** `{ /0000 { /glob "*" /type "deny" } … }` → `[{ deny: "/**" }, …]`. */
export function ruleList(block: Block, kind: GlobKind, key: string, w: Warnings): RuleItem<string>[] {
  const out: RuleItem<string>[] = [];
  for (const item of block.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/${key} entry ${item.kind === 'scalar' ? quoted(item) : `/${item.name}`} not carried over: expected /label { /glob "…" /type "allow|deny" }`);
      continue;
    }
    const type = scalarOf(item.value, 'type')?.text.toLowerCase();
    const glob = scalarOf(item.value, 'glob');
    if ((type !== 'allow' && type !== 'deny') || !glob) {
      w.skip(item, `a /${key} entry needs /glob and /type "allow" or "deny"`);
      continue;
    }
    for (const g of convertValue(glob, kind, 'glob', w)) out.push(type === 'allow' ? { allow: g } : { deny: g });
  }
  return out;
}

function headers(block: Block, w: Warnings): string[] {
  const out: string[] = [];
  for (const s of listValues(block)) {
    if (HEADER.test(s.text) && !/[*?[]/.test(s.text)) out.push(s.text);
    else w.add(s.loc, `/headers ${quoted(s)} not carried over: expected a literal header name`);
  }
  return out;
}

/**
 * Dispatcher's usual shape is "deny `*.*.*.*`, then allow some": a deny-all resets the list,
 * each allow adds an IP or CIDR (`10.0.0.*` → `10.0.0.0/24`). farmgate's list only allows, so a
 * deny of something not allowed before cannot be expressed.
 */
function allowedClients(block: Block, w: Warnings): string[] {
  let allowed: string[] = [];
  for (const item of block.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/allowedClients entry not carried over: expected /label { /glob "…" /type "allow|deny" }`);
      continue;
    }
    const type = scalarOf(item.value, 'type')?.text.toLowerCase();
    const glob = scalarOf(item.value, 'glob');
    if ((type !== 'allow' && type !== 'deny') || !glob) {
      w.skip(item, 'an /allowedClients entry needs /glob and /type "allow" or "deny"');
      continue;
    }
    const cidr = clientGlobToCidr(glob.text);
    if (type === 'deny') {
      if (cidr === '0.0.0.0/0' || glob.text === '*') allowed = [];
      else if (cidr && allowed.includes(cidr)) allowed = allowed.filter((c) => c !== cidr);
      else w.add(item.loc, `/allowedClients deny ${quoted(glob)} not carried over: flush.allowedClients is an allow list; leave that client out of it`);
    } else if (cidr) {
      if (!allowed.includes(cidr)) allowed.push(cidr);
    } else {
      w.add(item.loc, `/allowedClients allow ${quoted(glob)} not carried over: expected an IPv4 glob like 10.0.0.* or an IP`);
    }
  }
  return allowed;
}
