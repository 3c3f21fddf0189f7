/**
 * `farmgate serve --config FILE [--listen ADDR] [--admin ADDR]`: the edge service. SIGHUP and
 * changes of the config file re-read it; an invalid config is refused and the running one stays.
 *
 * A start-up failure (config missing or invalid, a docroot that takes no writes, a port in use)
 * prints one line that says what to do and exits 1 (docs/errors.md), never a stack trace.
 */
import type { Command } from 'commander';
import { assertDocrootsWritable } from '../cache/docroot-check.js';
import { createReloader } from '../config/reloader.js';
import { AppError } from '../errors.js';
import { createApp, type App } from '../http/app.js';
import { startServers } from '../http/server.js';
import { createLogger } from '../logger.js';
import { loadConfigFor } from './io.js';

export interface ServeOptions {
  readonly config: string;
  readonly listen?: string;
  readonly admin?: string;
}

/** `host:port`, `[v6]:port` or a bare port, as `server.listen` takes it. */
const ADDRESS = /^(?:(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/;

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the edge service: cached pages, flushes, admin listener')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--listen <addr>', 'public listener, overrides server.listen (e.g. 127.0.0.1:8080)')
    .option('--admin <addr>', 'admin listener, overrides server.admin (e.g. 127.0.0.1:9180)')
    .action(async (opts: ServeOptions) => {
      const code = await serve(opts);
      if (code !== 0) process.exit(code);
    });
}

function fail(message: string): number {
  process.stderr.write(`farmgate: ${message}\n`);
  return 1;
}

/** Starts the service; resolves 1 (after printing why) when it cannot start, else stays up. */
export async function serve(opts: ServeOptions): Promise<number> {
  for (const [flag, value] of [['--listen', opts.listen], ['--admin', opts.admin]] as const) {
    if (value !== undefined && !ADDRESS.test(value)) return fail(`${flag} expects host:port, e.g. 127.0.0.1:8080, got ${JSON.stringify(value)}`);
  }
  const config = await loadConfigFor(opts.config, undefined, { summary: false });
  if (!config) return 1;
  const log = createLogger();
  let app: App | undefined;
  try {
    await assertDocrootsWritable(config);
    app = await createApp({ config, log });
    const servers = await startServers(app, config, {
      ...(opts.listen ? { listen: opts.listen } : {}),
      ...(opts.admin ? { admin: opts.admin } : {}),
    });
    log.info({ public: servers.publicUrl, admin: servers.adminUrl, farms: config.farms.map((f) => f.name), server: config.server.name }, 'farmgate listening');
    const running = app;
    const reloader = createReloader({ file: opts.config, apply: (next) => running.reload(next), log });
    process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
    const unwatch = reloader.watch();
    const stop = async (signal: string) => {
      log.info({ signal }, 'farmgate stopping');
      unwatch();
      await servers.close();
      await running.close();
      log.flush?.();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    return 0;
  } catch (err) {
    await app?.close().catch(() => {});
    if (err instanceof AppError) return fail(err.message);
    throw err;
  }
}
