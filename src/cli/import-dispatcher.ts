/**
 * `farmgate import-dispatcher FILE.any [--out FILE.yaml]`: converts a dispatcher.any (includes
 * resolved, `${VAR}`s kept) into a farmgate config. YAML goes to stdout or `--out`; a warning per
 * directive not carried over goes to stderr as `FILE:LINE: message`. Exit 0 on success, warnings
 * or not; 1 when the file cannot be parsed (every problem as `FILE:LINE: message`).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DispatcherAnyError, formatWarning, importDispatcher } from '../dispatcher-any/index.js';
import { paint, processIo, type CliIo } from './io.js';

export interface ImportDispatcherOptions {
  readonly out?: string;
}

export function importDispatcherCommand(program: Command, io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): void {
  program
    .command('import-dispatcher')
    .description('convert a Dispatcher dispatcher.any (with its $includes) into a farmgate config')
    .argument('<file>', 'the main dispatcher.any (e.g. conf.dispatcher.d/dispatcher.any)')
    .option('-o, --out <file>', 'write the YAML here instead of stdout')
    .addHelpText(
      'after',
      `
Farm order is reversed (Dispatcher reads /farms bottom-up, farmgate top-down). Every filter,
cache, invalidate, ignoreUrlParams and allowedClients rule is carried so that it matches exactly
the requests it matched in Dispatcher (globs and regexes become farmgate globs or { regex }
values). What cannot be carried exactly errs on the safe side: an allow is dropped, a deny
widened, a /type "\${VAR}" that is not set in the environment becomes a deny. \${VAR}s stay
\${VAR}s; numbers, flags and /type values written as \${VAR} are read from the environment at
import time. Every directive not carried over, or carried differently, is reported on stderr as
FILE:LINE: message. Check the result with: farmgate check --config FILE.yaml`,
    )
    .action(async (file: string, opts: ImportDispatcherOptions) => io.exit(await runImportDispatcher(file, opts, io, env)));
}

/** Runs `farmgate import-dispatcher`; returns the exit code. */
export async function runImportDispatcher(
  file: string,
  opts: ImportDispatcherOptions,
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const c = paint(io);
  let result;
  try {
    result = importDispatcher(file, { env });
  } catch (err) {
    if (!(err instanceof DispatcherAnyError)) throw err;
    for (const p of err.problems) io.err(`${c.red(`${p.file}:${p.line}:`)} ${p.message}\n`);
    io.err(`cannot import ${file}: fix the problem above and run \`farmgate import-dispatcher ${file}\` again.\n`);
    return 1;
  }
  for (const w of result.warnings) {
    const text = formatWarning(w);
    io.err((w.message.startsWith('note:') ? c.dim(text) : c.yellow(text)) + '\n');
  }
  if (opts.out) {
    try {
      await writeFile(opts.out, result.yaml);
    } catch (err) {
      io.err(`error: cannot write ${opts.out}: ${(err as Error).message}; choose another --out file.\n`);
      return 1;
    }
  } else {
    io.out(result.yaml);
  }
  const farms = result.config.farms.length;
  io.err(
    `${c.green('imported')} ${file}: ${farms} farm${farms === 1 ? '' : 's'}, ${result.files.length} file${result.files.length === 1 ? '' : 's'} read, ` +
      `${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}${opts.out ? ` → ${opts.out}` : ''}. ` +
      `Review the warnings, then run \`farmgate check --config ${opts.out ?? 'FILE.yaml'}\`.\n`,
  );
  return 0;
}
