/**
 * `farmgate flush --url URL --tag T [--tag T2]… [--handle PATH]… [--action Activate|Delete]
 * [--farm NAME]… [--config FILE | --secret S]`: sends one signed invalidation API request
 * (contract section 4a) — the tags, and any handles as paths — with `X-Farmgate-Signature:
 * sha256=<HMAC of the exact body>` and a `ts`, so it cannot be replayed later.
 *
 * The secret: `--secret`, else `$FARMGATE_API_SECRET`, else `invalidation.api.secret` of
 * `--config` (which also gives `invalidation.api.path`). Prefer the environment or the config: a
 * `--secret` is visible in the process list.
 */
import { request } from 'undici';
import { signBody } from '../invalidation/signature.js';
import { loadConfigFor, paint, processIo, type CliIo } from './io.js';

export const DEFAULT_API_PATH = '/farmgate/v1/invalidate';

export interface TagFlushOptions {
  readonly url: string;
  readonly tag: readonly string[];
  readonly handle?: readonly string[];
  readonly action?: string;
  readonly farm?: readonly string[];
  readonly secret?: string;
  readonly config?: string;
  readonly json?: boolean;
  readonly timeout?: string | number;
}

/** The request body: what the API takes, with the sender's clock as `ts`. */
export function buildTagBody(opts: TagFlushOptions, now = Date.now()): string {
  const body: Record<string, unknown> = { tags: [...opts.tag] };
  if (opts.handle?.length) body.paths = [...opts.handle];
  if (opts.action) body.action = opts.action;
  if (opts.farm?.length) body.farms = [...opts.farm];
  body.ts = now;
  return JSON.stringify(body);
}

async function secretAndPath(opts: TagFlushOptions, io: CliIo, env: NodeJS.ProcessEnv): Promise<{ secret: string; path: string } | undefined> {
  let apiPath = DEFAULT_API_PATH;
  let secret = opts.secret ?? env.FARMGATE_API_SECRET;
  if (opts.config) {
    const config = await loadConfigFor(opts.config, io, { env, summary: false });
    if (!config) return undefined;
    if (!config.invalidation.api) {
      io.err(`error: ${opts.config} has no invalidation.api block: the invalidation API is off there\n`);
      return undefined;
    }
    apiPath = config.invalidation.api.path;
    secret ??= config.invalidation.api.secret;
  }
  if (!secret) {
    io.err('error: no API secret: pass --config FILE (its invalidation.api.secret), set FARMGATE_API_SECRET, or --secret\n');
    return undefined;
  }
  return { secret, path: apiPath };
}

/** Sends the tag invalidation; returns the exit code (0 on 200). */
export async function runTagFlush(opts: TagFlushOptions, io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const c = paint(io);
  const auth = await secretAndPath(opts, io, env);
  if (!auth) return 1;
  let url: URL;
  try {
    url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('expected http:// or https://');
  } catch (err) {
    io.err(`error: invalid --url ${JSON.stringify(opts.url)}: ${(err as Error).message}\n`);
    return 1;
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = auth.path;
  const body = buildTagBody(opts);
  const timeout = Number(opts.timeout ?? 30_000);
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-farmgate-signature': signBody(body, auth.secret) },
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    io.err(`error: invalidation to ${url.href} failed: ${(err as Error).message}\n`);
    return 1;
  }
  if (status !== 200) {
    io.err(`${c.red(String(status))} tags ${opts.tag.join(' ')}: ${text.trim()}\n`);
    return 1;
  }
  let parsed: { farms?: { farm: string; deleted: string[]; touched: string[] }[] } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    /* printed raw below */
  }
  const farms = parsed.farms ?? [];
  const summary = farms.map((f) => `${f.farm}: ${f.deleted.length} deleted${f.touched.length ? `, ${f.touched.length} .stat touched` : ''}`).join('; ') || 'no farm';
  io.out(`${c.green('200')} tags ${opts.tag.join(' ')} → ${summary}\n`);
  if (opts.json) io.out(JSON.stringify(parsed, null, 2) + '\n');
  return 0;
}
