/**
 * Where a command writes and how it exits, so commands run in-process in tests with captured
 * output. The default writes to the process streams and sets `process.exitCode`.
 */
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
