/**
 * `farmgate flush --url URL --handle PATH [--action A] [--scope ResourceOnly] [--refetch URI]... [--path KEY] [--json]`:
 * sends a real flush exactly as an AEM flush agent does (reference §1.6-1.7): a POST to the
 * Transport URI with `CQ-Action`, `CQ-Handle`, `CQ-Path`, `Content-Type: application/octet-stream`
 * and `Content-Length: 0`; for invalidate-and-refetch `Content-Type: text/plain` with one URI per
 * line. Prints the status and `X-Farmgate-Farms`; exit 0 on 200, else 1.
 */
import type { Command } from 'commander';
import { request } from 'undici';
import { parseAction } from '../flush/parse.js';
import { runTagFlush } from './flush-tags.js';
import { paint, processIo, type CliIo } from './io.js';

export const DEFAULT_FLUSH_PATH = '/dispatcher/invalidate.cache';

export interface FlushOptions {
  readonly url: string;
  readonly handle: string;
  /** `--tag` (repeatable): send a signed invalidation API request instead (flush-tags.ts). */
  readonly tag?: readonly string[];
  readonly farm?: readonly string[];
  readonly secret?: string;
  readonly config?: string;
  readonly action?: string;
  readonly scope?: string;
  readonly refetch?: readonly string[];
  readonly path?: string;
  readonly json?: boolean;
  readonly timeout?: string | number;
}

export function flushCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('flush')
    .description('send a flush request exactly as an AEM flush agent does')
    .requiredOption('--url <url>', `flush URL (a bare http://host:port gets ${DEFAULT_FLUSH_PATH}, or the invalidation API with --tag)`)
    .option('--handle <path>', 'CQ-Handle: the path to flush (with --tag: a path to invalidate too)')
    .option('--tag <tag>', 'invalidate every cached file carrying this tag (repeatable): a signed invalidation API request', collect, [] as string[])
    .option('--farm <name>', 'with --tag: only in this farm (repeatable; default every farm)', collect, [] as string[])
    .option('--config <file>', 'with --tag: the config whose invalidation.api.path and secret to use')
    .option('--secret <secret>', 'with --tag: the API secret (default $FARMGATE_API_SECRET; visible in ps, prefer the env or --config)')
    .option('--action <action>', 'CQ-Action: Activate | Deactivate | Delete | Test', 'Activate')
    .option('--scope <scope>', 'CQ-Action-Scope (ResourceOnly)')
    .option('--refetch <uri>', 'a URI to re-fetch after the invalidation (repeatable; Activate only)', collect, [] as string[])
    .option('--path <key>', 'CQ-Path routing key (default: the handle)')
    .option('--json', 'ask for and print the JSON report')
    .option('--timeout <ms>', 'give up after this many milliseconds', '30000')
    .action(async (opts: FlushOptions) => {
      if (opts.tag && opts.tag.length > 0) {
        io.exit(await runTagFlush({ ...opts, tag: opts.tag, handle: opts.handle ? [opts.handle] : [] }, io));
        return;
      }
      if (!opts.handle) {
        io.err("error: required option '--handle <path>' not specified (or --tag <tag>)\n");
        io.exit(1);
        return;
      }
      io.exit(await runFlush(opts, io));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The flush URL: `--url` as given, or with the conventional path when only a base was given. */
export function flushUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`expected an http(s) URL, got ${raw}`);
  if (url.pathname === '' || url.pathname === '/') url.pathname = DEFAULT_FLUSH_PATH;
  return url;
}

/**
 * A header value as a flush agent sends a path: printable ASCII as is; anything else
 * percent-encoded as UTF-8 (the server decodes a handle once).
 */
export function headerPath(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (ch) => encodeURIComponent(ch));
}

/** The request a flush agent would send. */
export function buildFlushRequest(opts: FlushOptions): { headers: Record<string, string>; body: string } {
  const action = parseAction(opts.action) ?? opts.action ?? 'Activate';
  const refetch = opts.refetch ?? [];
  const body = refetch.length > 0 ? refetch.join('\n') + '\n' : '';
  const headers: Record<string, string> = {
    'CQ-Action': action,
    'CQ-Handle': headerPath(opts.handle),
    'CQ-Path': headerPath(opts.path ?? opts.handle),
    'Content-Type': refetch.length > 0 ? 'text/plain' : 'application/octet-stream',
    'Content-Length': String(Buffer.byteLength(body)),
  };
  if (opts.scope) headers['CQ-Action-Scope'] = opts.scope;
  if (opts.json) headers.Accept = 'application/json';
  return { headers, body };
}

/** Sends the flush; returns the exit code. */
export async function runFlush(opts: FlushOptions, io: CliIo = processIo): Promise<number> {
  const c = paint(io);
  let url: URL;
  try {
    url = flushUrl(opts.url);
  } catch (err) {
    io.err(`error: invalid --url ${JSON.stringify(opts.url)}: ${(err as Error).message}\n`);
    return 1;
  }
  const { headers, body } = buildFlushRequest(opts);
  const timeout = Number(opts.timeout ?? 30_000);
  let status: number;
  let farms: string | undefined;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    status = res.statusCode;
    const h = res.headers['x-farmgate-farms'];
    farms = Array.isArray(h) ? h.join(', ') : h;
    text = await res.body.text();
  } catch (err) {
    io.err(`error: flush to ${url.href} failed: ${(err as Error).message}\n`);
    return 1;
  }
  const ok = status === 200;
  const farmsText = farms === undefined ? '(no X-Farmgate-Farms header)' : farms === '' ? '(none)' : farms;
  const line = `${ok ? c.green(String(status)) : c.red(String(status))} ${headers['CQ-Action']} ${opts.handle} → farms: ${farmsText}\n`;
  if (ok) {
    io.out(line);
    if (opts.json) io.out(prettyJson(text));
  } else {
    io.err(line);
    if (text.trim()) io.err(text.endsWith('\n') ? text : text + '\n');
  }
  return ok ? 0 : 1;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2) + '\n';
  } catch {
    return text;
  }
}
