/**
 * `farmgate serve --config FILE`: the edge service. SIGHUP and changes of the config file
 * re-read it; an invalid config is refused and the running one stays.
 */
import { watch } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { createApp } from '../http/app.js';
import { startServers } from '../http/server.js';
import { createLogger } from '../logger.js';
import { printConfigError } from './output.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the edge service: cached pages, flushes, admin listener')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (opts: { config: string }) => {
      const log = createLogger();
      let config;
      try {
        config = await loadConfig(opts.config);
      } catch (err) {
        printConfigError(err);
        process.exitCode = 1;
        return;
      }
      const app = await createApp({ config, log });
      const servers = await startServers(app, config);
      log.info({ public: servers.publicUrl, admin: servers.adminUrl, farms: config.farms.map((f) => f.name), server: config.server.name }, 'farmgate listening');

      let reloading = Promise.resolve();
      const reload = (why: string) => {
        reloading = reloading.then(async () => {
          try {
            const next = await loadConfig(opts.config);
            await app.reload(next);
            log.info({ why, farms: next.farms.map((f) => f.name) }, 'config reloaded');
          } catch (err) {
            const problems = err instanceof ConfigError ? err.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.path}: ${p.message}`) : [(err as Error).message];
            log.error({ why, problems }, 'config reload refused; the running config stays');
          }
        });
      };
      process.on('SIGHUP', () => reload('SIGHUP'));
      let debounce: NodeJS.Timeout | undefined;
      const watcher = watch(opts.config, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => reload('file changed'), 300);
      });
      const stop = async (signal: string) => {
        log.info({ signal }, 'farmgate stopping');
        watcher.close();
        await servers.close();
        await app.close();
        log.flush?.();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
