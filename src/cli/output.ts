/** Shared CLI output helpers: colour only on a TTY, config errors one per line. */
import { loadConfig, type Config } from '../config/index.js';
import { ConfigError, formatProblem } from '../errors.js';

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
export const color = {
  red: (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s),
  green: (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s),
  dim: (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s),
};

/**
 * Prints every problem of a ConfigError as `FILE:LINE:COL path: message` on stderr, then (unless
 * `summary` is false, as for `serve`, whose one problem is one line) how many and what to do.
 */
export function printConfigError(err: unknown, opts: { summary?: boolean } = {}): void {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(formatProblem(p) + '\n');
    if (opts.summary !== false || err.problems.length > 1) {
      process.stderr.write(`${err.problems.length} problem(s); fix them and run \`farmgate check --config FILE\` again.\n`);
    }
  } else {
    process.stderr.write(`error: ${(err as Error).message}\n`);
  }
}

/** Loads a config for a command; on failure prints every problem and sets exit code 1. */
export async function loadConfigOrFail(file: string): Promise<Config | undefined> {
  try {
    return await loadConfig(file);
  } catch (err) {
    printConfigError(err);
    process.exitCode = 1;
    return undefined;
  }
}
