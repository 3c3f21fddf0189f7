/**
 * `farmgate warm --config FILE (--urls FILE | --sitemap FILE_OR_URL) [--concurrency N] [--base URL] [--host HOST]`:
 * primes the cache through the running farmgate, so a site is never flushed live with a cold
 * cache. Progress bar on a TTY (stderr), a summary line always; exit 1 when any URL failed,
 * listing the failures.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { progressLine, summaryLine } from '../warm/progress.js';
import { createClient, warm, type WarmResult } from '../warm/run.js';
import { collectSitemap, describeTarget, parseUrlList, type Collected } from '../warm/sources.js';
import { loadConfigFor, paint, processIo, type CliIo } from './io.js';

export interface WarmCliOptions {
  readonly config: string;
  readonly urls?: string;
  readonly sitemap?: string;
  readonly concurrency?: string;
  readonly base?: string;
  readonly host?: string;
  readonly timeout?: string;
}

export function warmCommand(program: Command, io: CliIo = processIo, opts: { progress?: boolean } = {}): void {
  program
    .command('warm')
    .description('prime the cache through the running farmgate from a URL list or a sitemap')
    .requiredOption('-c, --config <file>', 'config file (YAML) of the running farmgate')
    .option('--urls <file>', 'one URL per line: http://site-a.local/content/x.html, or /content/x.html with --host')
    .option('--sitemap <fileOrUrl>', 'a sitemap.xml file or URL (a sitemap index is followed one level)')
    .option('--concurrency <n>', 'requests in flight at once', '4')
    .option('--base <url>', 'where farmgate listens (default: server.listen of the config)')
    .option('--host <host>', 'Host header for entries that are paths only')
    .option('--timeout <ms>', 'per request: to the response headers and between body bytes', '30000')
    .addHelpText('after', '\nNever flush a live site without priming: warm after a deployment or a cold flush, before traffic arrives.')
    .action(async (o: WarmCliOptions) => {
      const progress = opts.progress ?? (io === processIo && process.stderr.isTTY === true);
      io.exit(await runWarm(o, io, progress));
    });
}

/** Runs `farmgate warm`; returns the exit code. */
export async function runWarm(o: WarmCliOptions, io: CliIo = processIo, progress = false): Promise<number> {
  const c = paint(io);
  const fail = (message: string) => {
    io.err(`error: ${message}\n`);
    return 1;
  };
  if (!o.urls === !o.sitemap) return fail('give exactly one of --urls FILE or --sitemap FILE_OR_URL (see farmgate warm --help)');
  const concurrency = Number(o.concurrency ?? '4');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) return fail(`--concurrency expects a whole number from 1 to 256, got ${JSON.stringify(o.concurrency)}`);
  const timeoutMs = Number(o.timeout ?? '30000');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) return fail(`--timeout expects milliseconds, got ${JSON.stringify(o.timeout)}`);

  const config = await loadConfigFor(o.config, io, { summary: false });
  if (!config) return fail(`fix ${o.config} (farmgate check --config ${o.config}) and run warm again`);
  const base = o.base ?? baseFromListen(config.server.listen);
  if (base instanceof Error) return fail(base.message);
  try {
    new URL(base);
  } catch {
    return fail(`--base expects a URL like http://127.0.0.1:8080, got ${JSON.stringify(base)}`);
  }

  let input: Collected;
  if (o.urls) {
    let text: string;
    try {
      text = await readFile(o.urls, 'utf8');
    } catch (err) {
      return fail(`cannot read --urls ${o.urls}: ${(err as Error).message}`);
    }
    input = parseUrlList(text, o.urls, o.host);
  } else {
    const client = createClient(base, timeoutMs);
    try {
      input = await collectSitemap(o.sitemap!, o.host, async (t) => {
        const res = await client.get(t);
        if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${describeTarget(t)} through ${base}`);
        return res.body;
      });
    } finally {
      await client.close();
    }
  }
  for (const p of input.problems) io.err(c.red(p) + '\n');
  if (input.targets.length === 0) return fail(`no URL to warm${input.problems.length ? ' (see the problems above)' : ''}`);

  const counts = { hit: 0, miss: 0, errors: 0 };
  const onResult = (r: WarmResult, done: number, total: number) => {
    if (r.error) counts.errors++;
    else if (r.cache === 'hit') counts.hit++;
    else if (r.cache === 'miss') counts.miss++;
    if (progress) io.err(`\r${progressLine(done, total, counts)}`);
  };
  if (progress) io.err(progressLine(0, input.targets.length, counts));
  const summary = await warm(input.targets, { base, concurrency, timeoutMs, onResult });
  if (progress) io.err('\n');

  const failed = summary.results.filter((r) => r.error);
  for (const r of failed) io.err(`${c.red('failed')} ${describeTarget(r.target)}: ${r.error}\n`);
  const line = summaryLine(summary, input.invalid);
  io.out((failed.length || input.problems.length ? c.yellow(line) : c.green(line)) + '\n');
  if (failed.length > 0) {
    io.err(`${failed.length} URL${failed.length === 1 ? '' : 's'} failed: check the render and the farm for those hosts, then run warm again (warmed pages are HITs and cost nothing).\n`);
  }
  if (input.invalid > 0) {
    io.err(`${input.invalid} entr${input.invalid === 1 ? 'y is' : 'ies are'} not a usable URL (listed above): fix ${o.urls ?? o.sitemap} and run warm again.\n`);
  }
  return failed.length > 0 || input.problems.length > 0 ? 1 : 0;
}

/** `server.listen` → a URL to send requests to: a wildcard address becomes loopback. */
export function baseFromListen(listen: string): string | Error {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(listen);
  if (!m) return new Error(`cannot derive a URL from server.listen ${JSON.stringify(listen)}: pass --base`);
  const port = m[2]!;
  if (port === '0') return new Error('server.listen uses port 0 (a random port): pass --base with the real one');
  let host = m[1] ?? '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]') host = '[::1]';
  return `http://${host}:${port}`;
}
