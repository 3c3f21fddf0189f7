/** Runs a commander program in-process with captured output and exit code. */
import { Command } from 'commander';
import type { CliIo } from '../../src/cli/io.js';

export interface Captured {
  out: string;
  err: string;
  code: number | undefined;
}

export async function runCli(register: (program: Command, io: CliIo) => void, args: string[]): Promise<Captured> {
  const captured: Captured = { out: '', err: '', code: undefined };
  const io: CliIo = {
    out: (t) => void (captured.out += t),
    err: (t) => void (captured.err += t),
    exit: (c) => void (captured.code = c),
    color: false,
  };
  const program = new Command('farmgate').exitOverride().configureOutput({
    writeOut: (t) => void (captured.out += t),
    writeErr: (t) => void (captured.err += t),
  });
  register(program, io);
  try {
    await program.parseAsync(['node', 'farmgate', ...args]);
  } catch (err) {
    captured.code = (err as { exitCode?: number }).exitCode ?? 1;
  }
  return captured;
}
