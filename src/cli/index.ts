#!/usr/bin/env node
/**
 * The farmgate command line: one file per command (nitro src/cli).
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
