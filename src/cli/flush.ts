import type { Command } from 'commander';

/** Registers `farmgate flush` (stub, replaced by the flush work). */
export function flushCommand(program: Command): void {
  void program;
}
