/**
 * `farmgate serve --config FILE`: the edge service. SIGHUP and changes of the config file
 * re-read it; an invalid config is refused and the running one stays.
 */
import type { Command } from 'commander';
import { createReloader } from '../config/reloader.js';
import { createApp } from '../http/app.js';
import { startServers } from '../http/server.js';
import { createLogger } from '../logger.js';
import { loadConfigOrFail } from './output.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the edge service: cached pages, flushes, admin listener')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (opts: { config: string }) => {
      const log = createLogger();
      const config = await loadConfigOrFail(opts.config);
      if (!config) return;
      const app = await createApp({ config, log });
      const servers = await startServers(app, config);
      log.info({ public: servers.publicUrl, admin: servers.adminUrl, farms: config.farms.map((f) => f.name), server: config.server.name }, 'farmgate listening');

      const reloader = createReloader({ file: opts.config, apply: (next) => app.reload(next), log });
      process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
      const unwatch = reloader.watch();
      const stop = async (signal: string) => {
        log.info({ signal }, 'farmgate stopping');
        unwatch();
        await servers.close();
        await app.close();
        log.flush?.();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
