/**
 * `farmgate explain --config FILE --handle PATH [--action A] [--scope ResourceOnly] [--path KEY] [--json]`:
 * a flush as a dry run. Farms chosen and why, `.stat` files to touch, files to delete, count and
 * sample of cached files that would go stale. Changes nothing. Exit 0, or 1 on a bad config
 * (every problem as `FILE:LINE:COL path: message`) or a bad handle/action/scope.
 */
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { compileFarm } from '../farms/farm.js';
import { explainFlush, type ExplainReport } from '../flush/explain.js';
import { parseAction, parseHandle, parseScope } from '../flush/parse.js';
import { explainTags } from '../tags/explain.js';
import { tagProblem } from '../tags/parse.js';
import { loadConfigFor, paint, processIo, type CliIo } from './io.js';

export interface ExplainOptions {
  readonly config: string;
  readonly handle?: string;
  /** `--tag` (repeatable): explain a tag invalidation instead (tags/explain.ts). */
  readonly tag?: readonly string[];
  readonly farm?: readonly string[];
  readonly action?: string;
  readonly scope?: string;
  readonly path?: string;
  readonly json?: boolean;
}

export function explainCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('explain')
    .description('dry run of a flush: farms chosen, .stat files to touch, files to delete, cached files that would go stale')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--handle <path>', 'the handle to flush (CQ-Handle)')
    .option('--tag <tag>', 'explain invalidating a tag instead: the cached files carrying it (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--farm <name>', 'with --tag: only this farm (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--action <action>', 'Activate | Deactivate | Delete | Test', 'Activate')
    .option('--scope <scope>', 'ResourceOnly: delete the handle\'s files, touch no .stat')
    .option('--path <key>', 'routing key (CQ-Path); default: the handle')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ExplainOptions) => io.exit(await runExplain(opts, io)));
}

/** Runs `farmgate explain`; returns the exit code. */
export async function runExplain(opts: ExplainOptions, io: CliIo = processIo): Promise<number> {
  const config = await loadConfigFor(opts.config, io, { summary: false });
  if (!config) return 1;
  if (opts.tag && opts.tag.length > 0) return explainTagsCommand(config, opts, io);
  if (!opts.handle) return usage(io, 'give --handle PATH (a flush) or --tag TAG (a tag invalidation)');
  const action = parseAction(opts.action);
  if (!action) return usage(io, `unknown action ${JSON.stringify(opts.action)} (expected Activate, Deactivate, Delete or Test)`);
  const scope = parseScope(opts.scope);
  if (scope instanceof Error) return usage(io, scope.message);
  const handle = parseHandle(opts.handle);
  if (!handle.ok) return usage(io, `invalid handle ${JSON.stringify(opts.handle)}: ${handle.reason}`);
  const key = parseHandle(opts.path ?? opts.handle);
  if (!key.ok) return usage(io, `invalid path ${JSON.stringify(opts.path)}: ${key.reason}`);

  const report = await explainFlush(config.farms.map(compileFarm), { handle: handle.handle, routingKey: key.handle, action, scope });
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatExplain(report, config.flush.unrouted, io));
  return 0;
}

async function explainTagsCommand(config: Config, opts: ExplainOptions, io: CliIo): Promise<number> {
  for (const t of opts.tag ?? []) {
    const problem = tagProblem(t);
    if (problem) return usage(io, `invalid tag ${JSON.stringify(t)}: ${problem}`);
  }
  const names = config.farms.map((f) => f.name);
  const unknown = (opts.farm ?? []).filter((f) => !names.includes(f));
  if (unknown.length) return usage(io, `no farm named ${unknown.join(', ')} (farms: ${names.join(', ')})`);
  const farms = config.farms.filter((f) => !opts.farm?.length || opts.farm.includes(f.name)).map(compileFarm);
  const report = await explainTags(config.server.stateDir, farms, opts.tag ?? []);
  const c = paint(io);
  if (opts.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const lines = [`${c.bold(`tags ${report.tags.join(' ')}`)}  (a tag invalidation touches no .stat)`];
  for (const f of report.farms) {
    lines.push('', `farm ${c.bold(f.farm)}: ${f.count}${f.truncated ? '+' : ''} cached file${f.count === 1 ? '' : 's'} would be deleted (with .h and .ttl)${f.source === 'walk' ? c.dim(' (no saved tag index yet: read from the sidecars)') : ''}`);
    for (const [t, n] of Object.entries(f.byTag)) lines.push(c.dim(`  ${t}: ${n}`));
    for (const s of f.sample) lines.push(`    ${s}`);
    if (f.count > f.sample.length) lines.push(c.dim(`    … and ${f.count - f.sample.length} more`));
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}

function usage(io: CliIo, message: string): number {
  io.err(`error: ${message}\n`);
  return 1;
}

/** The readable report. */
export function formatExplain(report: ExplainReport, unrouted: 'ignore' | 'reject', io: CliIo): string {
  const c = paint(io);
  const lines: string[] = [];
  const scope = report.scope ? ` (${report.scope})` : '';
  lines.push(`${c.bold(`${report.action}${scope} ${report.handle}`)}  CQ-Path ${report.routingKey}`);
  if (report.action === 'Test') lines.push('  Test does nothing: no file is touched or deleted; answered 200.');
  if (report.farms.length === 0) {
    lines.push(c.yellow(`  no farm routes ${report.routingKey}: flush.unrouted is ${unrouted}`) +
      (unrouted === 'ignore' ? ' → 200, nothing done' : ' → 404'));
  }
  for (const f of report.farms) {
    lines.push('');
    lines.push(`farm ${c.bold(f.farm)}: flushRoutes glob ${JSON.stringify(f.route)} matches`);
    lines.push(c.dim(`  docroot ${f.docroot}, statfileslevel ${f.statfileslevel}`));
    if (f.touches.length === 0) lines.push(`  .stat files touched: none${report.scope === 'ResourceOnly' ? ' (ResourceOnly)' : ''}`);
    else {
      lines.push(`  .stat files touched (${f.touches.length}):`);
      for (const t of f.touches) lines.push(`    ${t.stat}${t.exists ? '' : c.dim(' (created)')}`);
    }
    if (f.deletes.length === 0) lines.push('  deleted: nothing cached for this handle');
    else {
      lines.push(`  deleted (${f.deletes.length}):`);
      for (const d of f.deletes) {
        const what = d.kind === 'folder' ? `/ (folder, ${d.files} file${d.files === 1 ? '' : 's'})` : d.kind === 'link' ? ' (symlink; the link only)' : '';
        lines.push(`    ${d.docPath}${what}`);
      }
    }
    const n = `${f.stale.count}${f.stale.truncated ? '+' : ''}`;
    lines.push(`  cached files that go stale (next request re-fetches): ${n}`);
    for (const s of f.stale.sample) lines.push(`    ${s}`);
    if (f.stale.count > f.stale.sample.length) lines.push(c.dim(`    … and ${f.stale.count - f.stale.sample.length} more`));
  }
  if (report.notRouted.length > 0) {
    lines.push('');
    for (const n of report.notRouted) {
      const globs = n.flushRoutes.length ? n.flushRoutes.join(' ') : '(no flushRoutes)';
      lines.push(c.dim(`farm ${n.farm}: not routed (flushRoutes ${globs})`));
    }
  }
  return lines.join('\n') + '\n';
}
