import type { Command } from 'commander';

/** Registers `farmgate explain` (stub, replaced by the flush work). */
export function explainCommand(program: Command): void {
  void program;
}
