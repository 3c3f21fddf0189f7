/**
 * `farmgate front nginx|apache --config FILE --out DIR [--listen ADDR]`: writes a complete,
 * runnable configuration for nginx or Apache httpd in front of farmgate, whose fresh hits the
 * front server answers itself (contract section 3a). Warnings (a rule the front cannot
 * evaluate, a docroot its workers cannot reach) go to stderr; the configuration is written anyway.
 */
import { Option, type Command } from 'commander';
import { generateFront, type FrontKind } from '../front/generate.js';
import { loadConfigFor, processIo, type CliIo } from './io.js';

export const DEFAULT_FRONT_LISTEN = '127.0.0.1:8081';

export interface FrontCommandOptions {
  config: string;
  out: string;
  listen?: string;
  user?: string;
  modules?: string;
  proxyOnly?: boolean;
  luaOnly?: boolean;
  decideEndpoint?: boolean;
}

export async function runFront(kind: string, opts: FrontCommandOptions, io: CliIo = processIo): Promise<void> {
  if (kind !== 'nginx' && kind !== 'apache') {
    io.err(`farmgate front: expected "nginx" or "apache", got ${JSON.stringify(kind)}\n`);
    io.exit(2);
    return;
  }
  if (opts.listen !== undefined && !/^(?:(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/.test(opts.listen)) {
    io.err(`farmgate front: --listen expects "host:port" or a port, got ${JSON.stringify(opts.listen)}\n`);
    io.exit(2);
    return;
  }
  const config = await loadConfigFor(opts.config, io);
  if (!config) {
    io.exit(1);
    return;
  }
  const g = await generateFront(config, {
    kind: kind as FrontKind,
    out: opts.out,
    listen: opts.listen ?? DEFAULT_FRONT_LISTEN,
    source: opts.config,
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.modules ? (kind === 'nginx' ? { nginxModules: opts.modules } : { apacheModules: opts.modules }) : {}),
    ...(opts.proxyOnly ? { proxyOnly: true } : {}),
    ...(opts.luaOnly ? { luaOnly: true } : {}),
    ...(opts.decideEndpoint ? { decideEndpoint: true } : {}),
    progress: (line: string) => io.err(`${line}\n`),
  });
  for (const w of g.warnings) io.err(`warning: ${w}\n`);
  const fast = g.fastModule && ('built' in g.fastModule ? `  hits:   the C fast path, built: ${g.fastModule.built}\n` : `  hits:   Lua only: ${g.fastModule.skipped}\n`);
  const check = kind === 'nginx' ? g.start.replace(/$/, ' -t') : g.start.replace(' -DFOREGROUND', ' -t');
  io.out(
    `wrote ${g.files.length} files to ${opts.out}: ${kind} listens on ${opts.listen ?? DEFAULT_FRONT_LISTEN}, ${opts.proxyOnly ? 'proxies every request' : 'answers fresh hits and proxies the rest'} to farmgate at ${g.model.upstream}\n` +
      (fast ?? '') +
      `  check:  ${check}\n  start:  ${g.start}   (as root)\n` +
      `  after a config change: run this command again and reload ${kind}\n`,
  );
  io.exit(0);
}

export function frontCommand(program: Command): void {
  program
    .command('front')
    .description('write an nginx or Apache configuration that answers fresh hits itself and proxies the rest to farmgate')
    .argument('<server>', 'nginx | apache')
    .requiredOption('-c, --config <file>', 'farmgate config file (YAML)')
    .requiredOption('-o, --out <dir>', 'folder to write the configuration into')
    .option('-l, --listen <addr>', `address the front server listens on (default ${DEFAULT_FRONT_LISTEN})`)
    .option('--user <name>', "the workers' user when started as root (default www-data)")
    .option('--modules <dir>', 'folder of the server modules (default: found on the system)')
    .option('--proxy-only', 'answer nothing from the docroot: every request goes to farmgate')
    .option('--lua-only', 'answer hits with the Lua alone (do not build the C fast path module)')
    // tests only: the front answers requests carrying X-Farmgate-Decide with its route (JSON)
    .addOption(new Option('--decide-endpoint').hideHelp())
    .action((server: string, opts: FrontCommandOptions) => runFront(server, opts));
}

