/**
 * A parsed dispatcher.any → a farmgate config object (the YAML shape of src/config/schema.ts).
 *
 * - Farm order is reversed: Dispatcher evaluates `/farms` bottom-up (the last farm first);
 *   farmgate takes the first farm whose virtualhosts match, top-down.
 * - A flush-only farm (virtualhosts like `flush`, `invalidation_only`) becomes no farm:
 *   farmgate answers flushes at `flush.path` whatever the Host, and routes them by flushRoutes.
 * - `flush.allowedClients` is one list in farmgate, checked before a flush is routed: a client
 *   is in it only when, for every farm that receives flushes, some Dispatcher farm whose docroot
 *   holds that farm's docroot lets it flush (flushClients), so no client can flush a farm's
 *   files that Dispatcher would have kept it from.
 * - `${VAR}`s stay `${VAR}`; farmgate substitutes them when it loads the config. Numbers and
 *   flags cannot hold a variable in farmgate, so those are resolved from `env` at import.
 */
import { blockOf, properties, prop, where, type Block, type Loc, type Property } from './ast.js';
import { convertCache } from './cache.js';
import { ALL_CLIENTS, beyond, intersect, isEmptySet, NO_CLIENTS, toAllowedClients, union, type ClientSet } from './clients.js';
import { convertFilter } from './filter.js';
import { convertClientHeaders, convertRenders, convertVirtualhosts, hostNames, type RenderOut } from './hosts.js';
import { numberOf, quoted, Warnings, type Env, type ImportWarning, type Inexact } from './notes.js';
import { deriveRoutes, farmName } from './routes.js';

export interface FarmOut {
  name: string;
  virtualhosts: string[];
  docroot: string;
  renders: RenderOut[];
  retryDelayMs?: number;
  clientHeaders?: string[];
  filter?: unknown[];
  cache?: Record<string, unknown>;
  flushRoutes: string[];
}

export interface ConvertResult {
  readonly config: { flush?: { allowedClients: string[] }; farms: FarmOut[] };
  /** Where each output farm came from, in output order. */
  readonly sources: { readonly name: string; readonly dispatcherName: string; readonly loc: Loc }[];
  readonly warnings: ImportWarning[];
  /**
   * Per output farm: where each filter item came from, and the rules the import could not carry
   * exactly (narrowed allows, widened denies), by list (`filter`, `rules`, `invalidate`, …).
   */
  readonly details: readonly FarmDetails[];
}

export interface FarmDetails {
  readonly name: string;
  readonly filterOrigins: readonly Loc[];
  readonly inexact: readonly (Inexact & { readonly list: string })[];
}

/** Farm properties farmgate has no equivalent for, and what it does instead. */
const FARM_SKIPPED: Record<string, string> = {
  sessionmanagement: 'farmgate has no session management; requests with credentials are not cached unless allowAuthorized',
  statistics: 'farmgate takes renders in turn; there are no response-time categories',
  stickyConnectionsFor: 'farmgate has no sticky connections; renders are taken in turn',
  stickyConnections: 'farmgate has no sticky connections; renders are taken in turn',
  health_check: 'an unreachable render is skipped for retryDelayMs and the next one is tried',
  failover: 'an unreachable render is skipped for retryDelayMs and the next one is tried',
  numberOfRetries: 'an unreachable render is skipped for retryDelayMs and the next one is tried',
  unavailablePenalty: 'an unreachable render is skipped for retryDelayMs and the next one is tried',
  auth_checker: 'farmgate has no permission-sensitive caching',
  vanity_urls: 'farmgate has no vanity URL list; allow those URLs in the filter',
  propagateSyndPost: 'farmgate never forwards replication posts',
  info: 'farmgate logs every request as structured JSON',
  homepage: 'deprecated in Dispatcher; redirect "/" in the web server',
};

const FLUSH_HOST = /^[a-z0-9_-]*(flush|invalidat)[a-z0-9_-]*$/;

export function convertDispatcher(root: Block, env: Env = {}): ConvertResult {
  const w = new Warnings();
  const farmsBlock = findFarms(root, w);
  const taken = new Set<string>();
  const farms: { out: FarmOut; dispatcherName: string; loc: Loc; details: FarmDetails }[] = [];
  const clients: FlushSide[] = [];

  for (const item of farmsBlock.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/farms entry ${item.kind === 'scalar' ? quoted(item) : `/${item.name}`} not carried over: a farm is /name { … }`);
      continue;
    }
    const farm = item.value;
    const vhosts = prop(farm, 'virtualhosts');
    const hosts = vhosts ? hostNames(vhosts.value) : [];
    const cacheBlock = blockOf(farm, 'cache');
    if (hosts.length > 0 && hosts.every((h) => FLUSH_HOST.test(h))) {
      const cache = cacheBlock ? convertCache(cacheBlock, env, w) : undefined;
      clients.push({ name: `/${item.name}`, set: cache?.allowedClients?.set, loc: cache?.allowedClients?.loc ?? item.loc, docroot: cache?.docroot, flushed: false });
      w.add(item.loc, `/${item.name} not carried over as a farm: it only receives flushes (virtualhosts ${hosts.join(', ')}); farmgate answers flushes at flush.path for any Host and routes them by each farm's flushRoutes${cache?.allowedClients ? '; its /allowedClients went into flush.allowedClients' : ''}`);
      continue;
    }
    const out = convertFarm(item, farm, env, w, taken);
    clients.push({ name: `/${item.name}`, set: out.clients?.set, loc: out.clients?.loc ?? item.loc, docroot: out.docroot, flushed: out.farm.flushRoutes.length > 0 });
    farms.push({ out: out.farm, dispatcherName: item.name, loc: item.loc, details: out.details });
  }

  if (farms.length === 0) w.add(farmsBlock.loc, 'no farm to carry over: farmgate needs at least one; add one by hand');
  // Dispatcher reads /farms bottom-up; farmgate top-down.
  farms.reverse();
  if (farms.length > 0 && !farms.some((f) => f.out.virtualhosts.includes('*'))) {
    w.add(farmsBlock.loc, 'note: Dispatcher sends a request no farm matches to a fallback farm; farmgate answers it 404. Add "*" to the virtualhosts of the last farm if you relied on that');
  }
  const flush = flushClients(clients, farmsBlock.loc, w);
  const config = { ...(flush ? { flush } : {}), farms: farms.map((f) => f.out) };
  return {
    config,
    sources: farms.map((f) => ({ name: f.out.name, dispatcherName: f.dispatcherName, loc: f.loc })),
    warnings: w.list,
    details: farms.map((f) => f.details),
  };
}

/** A Dispatcher farm as a door for flushes: who it lets flush, and which docroot it acts on. */
interface FlushSide {
  readonly name: string;
  /** undefined: no /allowedClients, so any client. */
  readonly set: ClientSet | undefined;
  readonly loc: Loc;
  readonly docroot: string | undefined;
  /** Carried as a farmgate farm that receives flushes (it has flushRoutes). */
  readonly flushed: boolean;
}

const holds = (outer: string, inner: string) => {
  const o = outer.replace(/\/+$/, '');
  const i = inner.replace(/\/+$/, '');
  return i === o || i.startsWith(o + '/');
};

/**
 * `flush.allowedClients`. Dispatcher checks a flush against the farm its Host selects, and that
 * farm touches and deletes under its own docroot, which may hold other farms' docroots (AMS
 * flush farms share the publish docroot). farmgate checks one list before it routes a flush,
 * by CQ-Path, to any farm. So a client goes in only when it could reach every farmgate farm's
 * files in Dispatcher: for each farm that receives flushes, some Dispatcher farm whose docroot
 * holds that farm's docroot lets it flush. Docroots are compared as written (`${VAR}` and all).
 */
function flushClients(sides: FlushSide[], loc: Loc, w: Warnings) {
  if (sides.every((s) => s.set === undefined)) {
    w.add(loc, 'note: no farm has /allowedClients, so Dispatcher accepts flushes from any client; farmgate keeps its default flush.allowedClients (loopback only): add your publish/author IPs');
    return undefined;
  }
  const flushed = sides.filter((s) => s.flushed && s.docroot !== undefined);
  const reach = (f: FlushSide): ClientSet =>
    sides
      .filter((g) => g.docroot !== undefined && holds(g.docroot, f.docroot!))
      .reduce<ClientSet>((acc, g) => union(acc, g.set ?? ALL_CLIENTS), NO_CLIENTS);
  const given = sides.filter((s) => s.set !== undefined) as (FlushSide & { set: ClientSet })[];
  const anyone = given.reduce<ClientSet>((acc, c) => union(acc, c.set), NO_CLIENTS);
  const everyone = flushed.length === 0 ? anyone : flushed.map(reach).reduce((acc, r) => intersect(acc, r));
  const all = toAllowedClients(everyone);
  const left = toAllowedClients(beyond(anyone, everyone));
  if (left.length > 0) {
    w.add(given[0]!.loc, `flush.allowedClients is one list in farmgate, checked before a flush is routed to any farm, so it holds only the clients that can flush every farm's files in Dispatcher (through a farm whose docroot holds them): ${given.map((c) => `${c.name} at ${where(c.loc)}`).join(', ')}. Not carried over: ${left.join(', ')}; add them to flush.allowedClients if they may flush every farm`);
  }
  if (isEmptySet(everyone)) w.add(given[0]!.loc, 'note: no client can flush every farm: flush.allowedClients is empty, so every flush gets 403');
  return { allowedClients: all };
}

/** The `/farms` block; a file holding farms directly (a `default.farm`) is taken as one. */
function findFarms(root: Block, w: Warnings): Block {
  let farms: Block | undefined;
  const looksLikeFarm = (p: Property) => p.value.kind === 'block' && ['virtualhosts', 'renders', 'cache'].some((k) => prop(p.value as Block, k));
  for (const item of root.items) {
    if (item.kind === 'scalar') {
      w.add(item.loc, `top-level value ${quoted(item)} not carried over: expected /name or /farms`);
    } else if (item.name === 'farms' && item.value.kind === 'block') {
      farms = item.value;
    } else if (!looksLikeFarm(item)) {
      w.skip(item, item.name === 'name' ? 'farmgate has no instance name (server.name names a server of the web farm)' : 'not a farmgate setting');
    }
  }
  if (farms) return farms;
  const direct = properties(root).filter(looksLikeFarm);
  if (direct.length > 0) return { kind: 'block', items: direct, loc: root.loc };
  w.add(root.loc, 'no /farms section and no farm in this file: is it the main dispatcher.any?');
  return { kind: 'block', items: [], loc: root.loc };
}

function convertFarm(p: Property, farm: Block, env: Env, w: Warnings, taken: Set<string>) {
  const name = farmName(p.name, taken);
  if (name !== p.name) w.add(p.loc, `note: farm /${p.name} is named "${name}" (farmgate names are [a-z0-9-]+ and unique)`);

  const vh = prop(farm, 'virtualhosts');
  let virtualhosts = vh ? convertVirtualhosts(vh.value, w) : [];
  if (virtualhosts.length === 0) {
    w.add(vh?.loc ?? p.loc, `note: farm "${name}" has no usable /virtualhosts; it gets "*" (every host)`);
    virtualhosts = ['*'];
  }

  const rb = blockOf(farm, 'renders');
  let renders = rb ? convertRenders(rb, env, w) : [];
  if (renders.length === 0) {
    w.add(rb?.loc ?? p.loc, `farm "${name}" has no usable /renders: a placeholder render http://127.0.0.1:4503 was written; edit it`);
    renders = [{ url: 'http://127.0.0.1:4503' }];
  }

  const fb = blockOf(farm, 'filter');
  const filter = fb ? convertFilter(fb, env, w) : undefined;
  const cb = blockOf(farm, 'cache');
  const cache = cb ? convertCache(cb, env, w) : undefined;
  const docroot = cache?.docroot ?? `./cache/${name}`;
  if (!cache?.docroot) w.add(cb?.loc ?? p.loc, `note: farm "${name}" has no /cache /docroot; it gets ${docroot}`);

  const out: FarmOut = { name, virtualhosts, docroot, renders, flushRoutes: [] };
  for (const q of properties(farm)) {
    if (['virtualhosts', 'renders', 'filter', 'cache'].includes(q.name)) continue;
    if (q.name === 'retryDelay' && q.value.kind === 'scalar') {
      const s = numberOf(q.value, env);
      if (s !== undefined) out.retryDelayMs = s * 1000;
      else w.skip(q, `${quoted(q.value)} is not a whole number of seconds`);
      continue;
    }
    if (q.name === 'clientheaders') {
      out.clientHeaders = convertClientHeaders(q.value, w);
      continue;
    }
    w.skip(q, FARM_SKIPPED[q.name] ?? 'not a farmgate farm setting');
  }
  if (filter) out.filter = filter.rules;
  if (cache && Object.keys(cache.cache).length > 0) out.cache = cache.cache;
  delete (out as Partial<FarmOut>).flushRoutes; // re-added below, last, where a reader looks for it

  let derived = deriveRoutes(filter?.allowPrefixes ?? [], cache?.ruleAllows ?? []);
  if (derived.routes.length === 0 && !fb) derived = { routes: ['/**'], from: 'lack of a /filter (it serves every path)', locs: [p.loc] };
  out.flushRoutes = derived.routes;
  if (derived.routes.length > 0) {
    w.add(p.loc, `note: farm "${name}": flushRoutes ${JSON.stringify(derived.routes)} derived from its ${derived.from} (${derived.locs.map(where).join(', ')}); Dispatcher routes a flush by Host, farmgate by CQ-Path: review them`);
  } else {
    w.add(p.loc, `note: farm "${name}": no flushRoutes could be derived (no /content path in its filter or cache rules); it receives no flush until you add some`);
  }
  const details: FarmDetails = {
    name,
    filterOrigins: filter?.origins ?? [],
    inexact: [...(filter?.inexact ?? []).map((x) => ({ ...x, list: 'filter' })), ...(cache?.inexact ?? [])],
  };
  return { farm: out, clients: cache?.allowedClients, details, docroot: cache?.docroot };
}
