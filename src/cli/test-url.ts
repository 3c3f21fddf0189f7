/**
 * `farmgate test-url --config FILE URL [--method M] [--header 'Name: value']... [--json]`:
 * a request as a dry run (contract section 1). The farm, the Sling decomposition, the filter rule
 * that decided (its index, file line and verdict), cacheable or not with the reason (and the
 * cache rule), the cache file, and fresh or stale with the `.stat` that decides. Changes
 * nothing. Exit 0 when the request would be allowed, 3 when it would be refused (the filter
 * denies it, or no farm, a bad path or an internal name), 1 on a bad config or usage.
 *
 * The decisions come from serve/route.ts, as for serving; the deciding rule's index is asked of
 * the same compiled rules (farms/match.ts decideRule).
 */
import type { Command } from 'commander';
import { Document, visit } from 'yaml';
import { inspectDocument, type DocumentOnDisk } from '../cache/inspect.js';
import { freshness } from '../cache/stat-files.js';
import type { Config } from '../config/index.js';
import { compileFarm, splitHostPort, type Farm } from '../farms/farm.js';
import { filterInput } from '../farms/filter.js';
import { decideRule, type RuleDecision } from '../farms/match.js';
import { isAuthorized, refusalOf, routeRequest, type Route } from '../serve/route.js';
import { loadConfigFor, paint, processIo, type CliIo } from './io.js';

export interface TestUrlOptions {
  readonly config: string;
  readonly method?: string;
  readonly header?: readonly string[];
  readonly json?: boolean;
}

export function testUrlCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('test-url')
    .description('dry run of a request: farm, filter rule, cacheable or not, cache file, fresh or stale, and why')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .argument('<url>', 'http://host/path?query, or /path?query with --header "Host: …"')
    .option('-m, --method <method>', 'request method', 'GET')
    .option('-H, --header <header>', "a request header, 'Name: value' (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExit status: 0 the request would be allowed, 3 refused (filter, no farm, bad path), 1 bad config or usage.')
    .action(async (url: string, opts: TestUrlOptions) => io.exit(await runTestUrl(url, opts, io)));
}

/** A rule of a farm's list as the config file wrote it, and where. */
export interface RuleRef {
  readonly index: number;
  /** The rule's key path, as `farmgate check` names it: `farms.0.filter.2`. */
  readonly path: string;
  /** `FILE:LINE`, or undefined for a default the file does not write. */
  readonly at: string | undefined;
  readonly allow: boolean;
  readonly rule: unknown;
}

export interface TestUrlReport {
  readonly method: string;
  readonly host: string | undefined;
  readonly target: string;
  readonly allowed: boolean;
  /** The route's verdict: no-farm | bad-path | internal | filtered | pass | cache. */
  readonly verdict: Route['verdict'];
  /** Why it would be refused (the answer's status and message), when it would be. */
  readonly refusal?: { readonly status: number; readonly message: string };
  readonly farm?: { readonly name: string; readonly virtualhost: string | undefined };
  readonly docPath?: string;
  readonly sling?: { readonly path: string; readonly selectors: string; readonly extension: string; readonly suffix: string };
  /** undefined rule: the farm has no filter (allow all), or no rule matched (deny). */
  readonly filter?: { readonly allow: boolean; readonly rule: RuleRef | undefined; readonly noFilter: boolean };
  readonly cacheable?: { readonly ok: boolean; readonly reason: string | undefined; readonly cacheRule: RuleRef | undefined };
  readonly cache?: {
    readonly file: string;
    readonly cached: boolean;
    /** What stands at the file's place instead of a cached file. */
    readonly other?: string;
    readonly size?: number;
    readonly mtime?: string;
    readonly tags?: readonly string[];
    readonly freshness?: 'fresh' | 'stale-stat' | 'stale-ttl';
    readonly stat?: { readonly file: string; readonly mtime: string };
    readonly invalidates: boolean;
    readonly invalidateRule: RuleRef | undefined;
    readonly ttl?: string;
    readonly gracePeriodMs: number;
  };
}

/** `http://host[:port]/path?q` → host and the raw target, exactly as a client would send them. */
function splitUrl(url: string): { host: string | undefined; target: string } | undefined {
  const abs = /^https?:\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (abs) return { host: abs[1], target: abs[2] || '/' };
  if (url.startsWith('/')) return { host: undefined, target: url.split('#')[0]! };
  return undefined;
}

function ruleRef(config: Config, file: string, farmIndex: number, list: string, d: RuleDecision, items: readonly unknown[] | undefined): RuleRef | undefined {
  if (d.index < 0) return undefined;
  const keyPath = `farms.${farmIndex}.${list}.${d.index}`;
  const pos = config.positions[keyPath];
  return { index: d.index, path: keyPath, at: pos ? `${file}:${pos.line}` : undefined, allow: d.allow, rule: items?.[d.index] };
}

function matchedVirtualhost(farm: Farm, host: string | undefined): string | undefined {
  if (!host) return undefined;
  const { host: h, port } = splitHostPort(host);
  return farm.hostMatchers.find((m) => (m.port === undefined || m.port === port) && m.host.test(h))?.glob;
}

/** Builds the report: pure decisions, plus a read-only look at the docroot. */
export async function testUrl(config: Config, file: string, req: { method: string; host: string | undefined; target: string; headers: Record<string, string> }): Promise<TestUrlReport> {
  const farms = config.farms.map(compileFarm);
  const authorized = isAuthorized(req.headers['authorization'], req.headers['cookie']);
  const route = routeRequest(farms, { method: req.method, host: req.host, url: req.target, authorized });
  const refusal = refusalOf(route);
  const base = {
    method: req.method,
    host: req.host,
    target: req.target,
    allowed: refusal === undefined,
    verdict: route.verdict,
    ...(refusal ? { refusal: { status: refusal.status, message: refusal.message } } : {}),
  };
  if (route.verdict === 'no-farm') return base;
  const farm = route.farm;
  const fi = config.farms.findIndex((f) => f.name === farm.name);
  const fc = config.farms[fi]!;
  const withFarm = { ...base, farm: { name: farm.name, virtualhost: matchedVirtualhost(farm, req.host) } };
  if (route.verdict === 'bad-path') return withFarm;
  const { docPath, sling } = route;
  const decision = farm.rules.filter.decide(filterInput(docPath, req.method, route.query));
  const filter = { allow: decision.allow, rule: ruleRef(config, file, fi, 'filter', decision, fc.filter), noFilter: farm.rules.filter.rules === undefined };
  const cacheRule = ruleRef(config, file, fi, 'cache.rules', decideRule(farm.rules.cache, docPath), fc.cache.rules);
  const cacheable =
    route.verdict === 'cache'
      ? { ok: true, reason: undefined, cacheRule }
      : route.verdict === 'pass'
        ? { ok: false, reason: route.reason, cacheRule }
        : route.verdict === 'filtered'
          ? { ok: route.cacheable.ok, reason: route.cacheable.ok ? undefined : route.cacheable.reason, cacheRule }
          : { ok: false, reason: 'an internal file (.stat, .h, .ttl or a temporary file)', cacheRule: undefined };
  const report = { ...withFarm, docPath, sling, filter, cacheable };
  if (route.verdict !== 'cache') return report;

  const rule = route.freshness;
  const disk: DocumentOnDisk = await inspectDocument(farm.docroot, docPath, rule.statDirs);
  const invalidateRule = ruleRef(config, file, fi, 'cache.invalidate', decideRule(farm.rules.invalidate, docPath), fc.cache.invalidate);
  const iso = (ms: number) => new Date(ms).toISOString();
  const f = disk.file;
  return {
    ...report,
    cache: {
      file: disk.absPath,
      cached: f !== undefined,
      ...(disk.other ? { other: disk.other } : {}),
      ...(f
        ? {
            size: f.size,
            mtime: iso(f.mtimeMs),
            tags: f.tags,
            freshness: freshness({
              fileMtimeMs: f.mtimeMs,
              statMtimeMs: disk.stat?.mtimeMs,
              invalidates: rule.invalidates,
              gracePeriodMs: rule.gracePeriodMs,
              ttlExpiresMs: rule.enableTTL ? f.ttlExpiresMs : undefined,
              now: Date.now(),
            }),
            ...(rule.enableTTL && f.ttlExpiresMs !== undefined ? { ttl: iso(f.ttlExpiresMs) } : {}),
          }
        : {}),
      ...(disk.stat ? { stat: { file: disk.stat.absPath, mtime: iso(disk.stat.mtimeMs) } } : {}),
      invalidates: rule.invalidates,
      invalidateRule,
      gracePeriodMs: rule.gracePeriodMs,
    },
  };
}

/** Runs `farmgate test-url`; returns the exit code. */
export async function runTestUrl(url: string, opts: TestUrlOptions, io: CliIo = processIo): Promise<number> {
  const parts = splitUrl(url);
  if (!parts) return usage(io, `expected http://host/path or /path, got ${JSON.stringify(url)}`);
  const headers: Record<string, string> = {};
  for (const h of opts.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) return usage(io, `expected --header 'Name: value', got ${JSON.stringify(h)}`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const host = headers['host'] ?? parts.host;
  if (host === undefined) return usage(io, `no Host: give an absolute URL (http://site.example${parts.target}) or --header 'Host: site.example'`);
  const method = (opts.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) return usage(io, `invalid method ${JSON.stringify(opts.method)}`);
  const config = await loadConfigFor(opts.config, io, { summary: false });
  if (!config) return 1;
  const report = await testUrl(config, opts.config, { method, host, target: parts.target, headers });
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, io));
  return report.allowed ? 0 : 3;
}

function usage(io: CliIo, message: string): number {
  io.err(`error: ${message}\n`);
  return 1;
}

/** A rule as the config file writes it: `allow: { url: /content/** }`. */
function flow(rule: unknown): string {
  const doc = new Document(rule);
  visit(doc, {
    Map: (_k, n) => void (n.flow = true),
    Seq: (_k, n) => void (n.flow = true),
  });
  return doc.toString({ lineWidth: 0, singleQuote: true }).trim();
}

const ruleText = (r: RuleRef) => `${r.path} (${r.at ?? 'a default'}): ${flow(r.rule)}`;

const REFUSED: Record<string, string> = {
  'no-farm': "no farm's virtualhosts match the Host",
  'bad-path': 'the path cannot name a document',
  internal: 'a file farmgate keeps for itself',
  filtered: 'denied by the filter',
};

export function formatReport(r: TestUrlReport, io: CliIo): string {
  const c = paint(io);
  const lines: string[] = [`${c.bold(`${r.method} ${r.target}`)}  Host: ${r.host ?? '(none)'}`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(11)} ${text}`);
  if (!r.farm) row('farm', c.red(`none: no farm's virtualhosts match ${JSON.stringify(r.host ?? '')}`));
  else row('farm', `${r.farm.name}${r.farm.virtualhost ? ` (virtualhost ${JSON.stringify(r.farm.virtualhost)})` : ''}`);
  if (r.verdict === 'bad-path') row('path', c.red(r.refusal!.message));
  if (r.docPath && r.sling) {
    const s = r.sling;
    row('path', `${r.docPath}  →  path ${s.path}, selectors ${JSON.stringify(s.selectors)}, extension ${JSON.stringify(s.extension)}, suffix ${JSON.stringify(s.suffix)}`);
  }
  if (r.verdict === 'internal') row('internal', c.red('a file farmgate keeps for itself (.stat, .h, .ttl, temporary): 404'));
  if (r.filter) {
    const f = r.filter;
    const verdict = f.allow ? c.green('allowed') : c.red('denied (404)');
    if (f.noFilter) row('filter', `${verdict}: the farm has no filter`);
    else if (!f.rule) row('filter', `${verdict}: no filter rule matches, and no match denies`);
    else row('filter', `${verdict} by ${ruleText(f.rule)}`);
  }
  if (r.cacheable) {
    const cr = r.cacheable.cacheRule ? `; ${ruleText(r.cacheable.cacheRule)}` : '';
    row('cacheable', r.cacheable.ok ? c.green(`yes${cr}`) : `no: ${r.cacheable.reason}${r.cacheable.reason === 'request URL is missing in cache rules' ? cr : ''}`);
  }
  if (r.cache) {
    const k = r.cache;
    row('cache file', k.cached ? `${k.file} (${k.size} bytes, stored ${k.mtime})` : `${k.file} (not cached${k.other ? `: a ${k.other} stands there` : ''})`);
    const inv = k.invalidateRule ? ruleText(k.invalidateRule) : 'no cache.invalidate rule matches';
    const stat = k.stat ? `nearest .stat ${k.stat.file} (${k.stat.mtime})` : 'no .stat governs it';
    if (!k.cached) row('freshness', `would be fetched from a render (MISS); ${stat}; ${inv}`);
    else if (k.freshness === 'fresh') row('freshness', c.green(`fresh (HIT): ${stat}; cache.invalidate ${k.invalidates ? 'lets' : 'does not let'} it go stale (${inv})${k.gracePeriodMs ? `, gracePeriodMs ${k.gracePeriodMs}` : ''}${k.ttl ? `; .ttl until ${k.ttl}` : ''}`));
    else if (k.freshness === 'stale-ttl') row('freshness', c.yellow(`stale: its .ttl expired at ${k.ttl}`));
    else row('freshness', c.yellow(`stale: ${stat} is not older than the file, and cache.invalidate lets it go stale (${inv})${k.gracePeriodMs ? `; gracePeriodMs ${k.gracePeriodMs} has passed` : ''}`));
    if (k.cached) row('tags', k.tags && k.tags.length > 0 ? k.tags.join(' ') : 'none');
  }
  lines.push(r.allowed ? c.green('→ allowed (exit 0)') : c.red(`→ refused with ${r.refusal?.status}: ${REFUSED[r.verdict] ?? r.refusal?.message} (exit 3)`));
  return lines.join('\n') + '\n';
}
