/**
 * Where a command writes and how it exits, so commands run in-process in tests with captured
 * output. The default writes to the process streams and sets `process.exitCode`. Also the one way
 * a command loads its config (every problem as `FILE:LINE:COL path: message`).
 */
import { loadConfig, type Config, type Env } from '../config/index.js';
import { ConfigError, formatProblem } from '../errors.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  exit(code: number): void;
  /** Colour only on a TTY (and never with NO_COLOR). */
  readonly color: boolean;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
  get color() {
    return process.stdout.isTTY === true && !process.env.NO_COLOR;
  },
};

export function paint(io: CliIo) {
  const wrap = (code: number) => (s: string) => (io.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2), bold: wrap(1) };
}

/**
 * Loads a command's config. On failure writes every problem as `FILE:LINE:COL path: message` on
 * `io.err`, then (unless `summary` is false: `serve`, whose start-up failure is one line per
 * problem, and commands that say what to do themselves) how many and what to do; returns undefined.
 */
export async function loadConfigFor(file: string, io: CliIo = processIo, opts: { env?: Env; summary?: boolean } = {}): Promise<Config | undefined> {
  try {
    return await loadConfig(file, opts.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      io.err(`error: ${(err as Error).message}\n`);
      return undefined;
    }
    for (const p of err.problems) io.err(formatProblem(p) + '\n');
    if (opts.summary !== false) {
      io.err(`${err.problems.length} problem(s); fix them and run \`farmgate check --config ${file}\` again.\n`);
    }
    return undefined;
  }
}
