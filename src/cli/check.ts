/**
 * `farmgate check --config FILE`: exit 0 with a summary (and warnings, on stderr, as
 * `FILE:LINE:COL path.to.key: warning: message`), or 1 with every error as
 * `FILE:LINE:COL path.to.key: message`.
 */
import type { Command } from 'commander';
import { configWarnings } from '../config/lint.js';
import { formatProblem } from '../errors.js';
import { loadConfigFor, paint, processIo } from './io.js';

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate a config file and print a summary')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (opts: { config: string }) => {
      const config = await loadConfigFor(opts.config);
      if (!config) {
        process.exitCode = 1;
        return;
      }
      const color = paint(processIo);
      const out: string[] = [`${color.green('ok')} ${opts.config}: ${config.farms.length} farm(s)`];
      out.push(`  listen ${config.server.listen}${config.server.admin ? `, admin ${config.server.admin}` : ''}, server name ${config.server.name}`);
      out.push(`  flush ${config.flush.path} from ${config.flush.allowedClients.join(' ')} (unrouted: ${config.flush.unrouted})`);
      for (const f of config.farms) {
        out.push(`  farm ${color.bold(f.name)}: hosts ${f.virtualhosts.join(' ')}`);
        out.push(`    docroot ${f.docroot}, statfileslevel ${f.cache.statfileslevel}, renders ${f.renders.map((r) => r.url).join(' ')}`);
        out.push(`    flushRoutes ${f.flushRoutes.length ? f.flushRoutes.join(' ') : color.red('(none: this farm never receives flushes)')}`);
      }
      out.push(`  propagation ${config.propagation.mode}`);
      process.stdout.write(out.join('\n') + '\n');
      for (const w of configWarnings(config)) process.stderr.write(formatProblem({ ...w, file: opts.config }) + '\n');
    });
}
