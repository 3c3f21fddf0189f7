/**
 * `farmgate hold|release --admin URL [--server NAME] [--token T]`: puts a server of the web
 * farm on hold (it records flushes from the other servers but does not apply them, as during a
 * deployment) or releases it (it applies what it held, in order). Without `--server` the
 * server behind `--admin` is meant; with it, that server relays the command through Redis.
 * The token defaults to `FARMGATE_ADMIN_TOKEN`. Exit 0 on 200/202, else 1.
 */
import type { Command } from 'commander';
import { request } from 'undici';
import { processIo, type CliIo } from './io.js';

export interface HoldOptions {
  readonly admin: string;
  readonly server?: string;
  readonly token?: string;
  readonly timeout?: string | number;
}

export function holdCommand(program: Command, io: CliIo = processIo): void {
  for (const op of ['hold', 'release'] as const) {
    program
      .command(op)
      .description(
        op === 'hold'
          ? 'hold a server: it records flushes from the web farm but does not apply them (deployments)'
          : 'release a held server: it applies the flushes it held, in order',
      )
      .requiredOption('--admin <url>', 'admin listener URL, e.g. http://127.0.0.1:9180')
      .option('--server <name>', 'the server to act on (default: the one behind --admin)')
      .option('--token <token>', 'admin bearer token (default: $FARMGATE_ADMIN_TOKEN)')
      .option('--timeout <ms>', 'give up after this many milliseconds', '10000')
      .action(async (opts: HoldOptions) => io.exit(await runHold(op, opts, io)));
  }
}

/** The admin API URL for an operation. */
export function holdUrl(op: 'hold' | 'release', admin: string, server?: string): URL {
  const base = new URL(admin);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`expected an http(s) URL, got ${admin}`);
  const prefix = base.pathname.replace(/\/+$/, '');
  base.pathname = server ? `${prefix}/admin/api/servers/${encodeURIComponent(server)}/${op}` : `${prefix}/admin/api/${op}`;
  return base;
}

export async function runHold(op: 'hold' | 'release', opts: HoldOptions, io: CliIo = processIo): Promise<number> {
  let url: URL;
  try {
    url = holdUrl(op, opts.admin, opts.server);
  } catch (err) {
    io.err(`error: invalid --admin ${JSON.stringify(opts.admin)}: ${(err as Error).message}\n`);
    return 1;
  }
  const token = opts.token ?? process.env.FARMGATE_ADMIN_TOKEN;
  const timeout = Number(opts.timeout ?? 10_000);
  try {
    const res = await request(url, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode === 200 || res.statusCode === 202) {
      const what = opts.server ? `server ${opts.server}` : 'server';
      io.out(`${op === 'hold' ? 'held' : 'released'}: ${what}${res.statusCode === 202 ? ' (relayed through Redis; applied on its next heartbeat)' : ''}\n`);
      return 0;
    }
    io.err(`error: ${op} answered ${res.statusCode}: ${text.trim()}\n`);
    return 1;
  } catch (err) {
    io.err(`error: ${op} via ${url.href} failed: ${(err as Error).message}\n`);
    return 1;
  }
}
