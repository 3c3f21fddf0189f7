#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The farmgate command line: one file per command (nitro src/cli).
 *
 * The `farmgate` command runs node with an 8 MiB young generation (V8 semi-space; node's default
 * is 16 MiB): a server's garbage is short-lived request objects, and the smaller young generation
 * keeps ~15 MB less resident under load at no throughput cost measured (README "Memory"). This
 * line is the one place the flag is set: the demo and the benchmarks read it from here.
 */
import { Command } from 'commander';
import { checkCommand } from './check.js';
import { explainCommand } from './explain.js';
import { flushCommand } from './flush.js';
import { frontCommand } from './front.js';
import { importDispatcherCommand } from './import-dispatcher.js';
import { warmCommand } from './warm.js';
import { holdCommand } from './hold.js';
import { serveCommand } from './serve.js';
import { testUrlCommand } from './test-url.js';

export function buildProgram(): Command {
  const program = new Command('farmgate')
    .description('dispatcher cache and flush router for CMS web farms')
    .showHelpAfterError('(run with --help for usage)');
  serveCommand(program);
  checkCommand(program);
  testUrlCommand(program);
  explainCommand(program);
  flushCommand(program);
  importDispatcherCommand(program);
  warmCommand(program);
  holdCommand(program);
  frontCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
