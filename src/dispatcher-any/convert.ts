/**
 * A parsed dispatcher.any → a farmgate config object (the YAML shape of src/config/schema.ts).
 *
 * - Farm order is reversed: Dispatcher evaluates `/farms` bottom-up (the last farm first);
 *   farmgate takes the first farm whose virtualhosts match, top-down.
 * - A flush-only farm (virtualhosts like `flush`, `invalidation_only`) becomes no farm:
 *   farmgate answers flushes at `flush.path` whatever the Host, and routes them by flushRoutes.
 * - Every farm's `/allowedClients` feeds the one global `flush.allowedClients`.
 * - `${VAR}`s stay `${VAR}`; farmgate substitutes them when it loads the config. Numbers and
 *   flags cannot hold a variable in farmgate, so those are resolved from `env` at import.
 */
import { blockOf, properties, prop, where, type Block, type Loc, type Property } from './ast.js';
import { convertCache, type Env } from './cache.js';
import { convertFilter } from './filter.js';
import { convertRenders, convertVirtualhosts, hostNames, type RenderOut } from './hosts.js';
import { numberOf, quoted, Warnings, type ImportWarning } from './notes.js';
import { deriveRoutes, farmName } from './routes.js';

export interface FarmOut {
  name: string;
  virtualhosts: string[];
  docroot: string;
  renders: RenderOut[];
  retryDelayMs?: number;
  filter?: unknown[];
  cache?: Record<string, unknown>;
  flushRoutes: string[];
}

export interface ConvertResult {
  readonly config: { flush?: { allowedClients: string[] }; farms: FarmOut[] };
  /** Where each output farm came from, in output order. */
  readonly sources: { readonly name: string; readonly dispatcherName: string; readonly loc: Loc }[];
  readonly warnings: ImportWarning[];
}

/** Farm properties farmgate has no equivalent for, and what it does instead. */
const FARM_SKIPPED: Record<string, string> = {
  clientheaders: 'farmgate forwards every request header to the render except hop-by-hop ones',
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
  const farms: { out: FarmOut; dispatcherName: string; loc: Loc }[] = [];
  const clients: { clients: string[]; loc: Loc }[] = [];

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
      const cache = cacheBlock ? convertCache(cacheBlock, env, new Warnings()) : undefined;
      if (cache?.allowedClients) clients.push(cache.allowedClients);
      w.add(item.loc, `/${item.name} not carried over as a farm: it only receives flushes (virtualhosts ${hosts.join(', ')}); farmgate answers flushes at flush.path for any Host and routes them by each farm's flushRoutes${cache?.allowedClients ? '; its /allowedClients went into flush.allowedClients' : ''}`);
      continue;
    }
    const out = convertFarm(item, farm, env, w, taken);
    if (out.clients) clients.push(out.clients);
    farms.push({ out: out.farm, dispatcherName: item.name, loc: item.loc });
  }

  if (farms.length === 0) w.add(farmsBlock.loc, 'no farm to carry over: farmgate needs at least one; add one by hand');
  // Dispatcher reads /farms bottom-up; farmgate top-down.
  farms.reverse();
  if (farms.length > 0 && !farms.some((f) => f.out.virtualhosts.includes('*'))) {
    w.add(farmsBlock.loc, 'note: Dispatcher sends a request no farm matches to a fallback farm; farmgate answers it 404. Add "*" to the virtualhosts of the last farm if you relied on that');
  }

  let flush: { allowedClients: string[] } | undefined;
  if (clients.length > 0) {
    const union = [...new Set(clients.flatMap((c) => c.clients))];
    flush = { allowedClients: union };
    if (union.length === 0) w.add(clients[0]!.loc, 'note: /allowedClients allows no client at all: flush.allowedClients is empty, so every flush gets 403');
    else if (new Set(clients.map((c) => c.clients.join(' '))).size > 1) {
      w.add(clients[0]!.loc, `note: flush.allowedClients is one list in farmgate: the union of every farm's /allowedClients (${clients.map((c) => where(c.loc)).join(', ')})`);
    }
  } else {
    w.add(farmsBlock.loc, 'note: no farm has /allowedClients, so Dispatcher accepts flushes from any client; farmgate keeps its default flush.allowedClients (loopback only): add your publish/author IPs');
  }
  const config = { ...(flush ? { flush } : {}), farms: farms.map((f) => f.out) };
  return {
    config,
    sources: farms.map((f) => ({ name: f.out.name, dispatcherName: f.dispatcherName, loc: f.loc })),
    warnings: w.list,
  };
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
  const filter = fb ? convertFilter(fb, w) : undefined;
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
    w.skip(q, FARM_SKIPPED[q.name] ?? 'not a farmgate farm setting');
  }
  if (filter) out.filter = filter.rules;
  if (cache && Object.keys(cache.cache).length > 0) out.cache = cache.cache;
  delete (out as Partial<FarmOut>).flushRoutes; // re-added below, last, where a reader looks for it

  let derived = deriveRoutes(filter?.allowPaths ?? [], cache?.ruleAllows ?? []);
  if (derived.routes.length === 0 && !fb) derived = { routes: ['/**'], from: 'lack of a /filter (it serves every path)', locs: [p.loc] };
  out.flushRoutes = derived.routes;
  if (derived.routes.length > 0) {
    w.add(p.loc, `note: farm "${name}": flushRoutes ${JSON.stringify(derived.routes)} derived from its ${derived.from} (${derived.locs.map(where).join(', ')}); Dispatcher routes a flush by Host, farmgate by CQ-Path: review them`);
  } else {
    w.add(p.loc, `note: farm "${name}": no flushRoutes could be derived (no /content path in its filter or cache rules); it receives no flush until you add some`);
  }
  return { farm: out, clients: cache?.allowedClients };
}
