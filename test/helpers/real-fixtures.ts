/**
 * The real Dispatcher trees (`../shared/fixtures/dispatcher-real/` next to the repository; never
 * copied into it). Looked up beside the repository root, and, in a git worktree, beside the
 * main checkout the worktree belongs to; `FARMGATE_DISPATCHER_FIXTURES` overrides both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TAIL = '../shared/fixtures/dispatcher-real';

/** The main checkout of a worktree (its `.git` file points into `<main>/.git/worktrees/…`). */
function mainCheckout(): string | undefined {
  try {
    const dotGit = fs.readFileSync(path.join(REPO, '.git'), 'utf8');
    const m = /^gitdir: (.*)$/m.exec(dotGit);
    return m ? path.resolve(m[1]!.trim(), '../../..') : undefined;
  } catch {
    return undefined;
  }
}

export interface RealTree {
  readonly name: string;
  /** The tree's conf.dispatcher.d/dispatcher.any. */
  readonly main: string;
}

/** The folder holding the real trees, or undefined with the places looked at. */
export function realFixturesDir(): { dir: string } | { missing: string[] } {
  const candidates = process.env.FARMGATE_DISPATCHER_FIXTURES
    ? [path.resolve(process.env.FARMGATE_DISPATCHER_FIXTURES)]
    : [path.resolve(REPO, TAIL), ...[mainCheckout()].filter((m): m is string => m !== undefined).map((m) => path.resolve(m, TAIL))];
  const dir = candidates.find((c) => fs.existsSync(c));
  return dir ? { dir } : { missing: candidates };
}

/** Every tree with a conf.dispatcher.d/dispatcher.any. */
export function realTrees(dir: string): RealTree[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => ({ name, main: path.join(dir, name, 'conf.dispatcher.d/dispatcher.any') }))
    .filter((t) => fs.existsSync(t.main));
}
