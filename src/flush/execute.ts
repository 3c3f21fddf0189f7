/**
 * The flush executor: applies one farm's FlushPlan to its docroot, through its store only, so
 * the hot layer and the in-memory `.stat` times agree with the disk the moment this returns.
 * Returns what it did; it does not log (apply.ts does).
 */
import type { CacheStore } from '../cache/store.js';
import { AppError } from '../errors.js';
import type { FlushPlan } from './plan.js';

export interface ExecuteResult {
  /** Document paths deleted (files, or folders with their contents). */
  readonly deleted: string[];
  /** Document paths of the `.stat` files touched, docroot first: `/.stat`, `/content/.stat`. */
  readonly touched: string[];
  /** Folders whose `.stat` was not touched because their real path leaves the docroot. */
  readonly refused: string[];
}

/**
 * Applies a plan. `at` is the flush time, one `Date.now()` per flush shared by every farm, so a
 * flush that reaches several farms gives all their `.stat` files the same mtime.
 *
 * Order: deletes first, then `.stat` touches; the touch is the flush's commit point.
 * - A reader that sees the new `.stat` (this process, nginx or another farm on a shared docroot)
 *   never also finds the handle's old files: they are already gone. Touching first would open a
 *   window where the flush looks done but `page.json` (often outside `cache.invalidate`, so not
 *   made stale by the touch) is still served from the old file.
 * - A copy re-rendered by a concurrent miss while we delete started its render before `at`; a
 *   cached file's mtime is its render start, so the touch that follows makes it stale (equal
 *   times count as stale, stat-files.ts) wherever `cache.invalidate` applies.
 * - Between the two steps a sibling is still served from its pre-flush copy, exactly as it was
 *   before the flush arrived: no new inconsistency.
 * An I/O failure stops this farm's flush with FG_FLUSH_IO (500), never a fake 200; the caller
 * answers with the reason. What was done before the failure stays done (a retried flush is
 * idempotent).
 */
export async function executePlan(cache: CacheStore, plan: FlushPlan, at: number): Promise<ExecuteResult> {
  const result: ExecuteResult = { deleted: [], touched: [], refused: [] };
  for (const d of plan.deletes) {
    let removed: boolean;
    try {
      removed = await cache.remove(d.docPath);
    } catch (err) {
      throw ioError(`cannot delete ${d.docPath}`, err);
    }
    if (removed) result.deleted.push(d.docPath);
  }
  for (const dir of plan.statTouches) {
    let touched: boolean;
    try {
      touched = await cache.touchStat(dir, at);
    } catch (err) {
      throw ioError(`cannot touch ${statDocPath(dir)}`, err);
    }
    if (!touched) result.refused.push(dir);
    else result.touched.push(statDocPath(dir));
  }
  return result;
}

/** `/content` → `/content/.stat`, `/` → `/.stat`. */
export function statDocPath(dir: string): string {
  return dir === '/' ? '/.stat' : dir + '/.stat';
}

function ioError(what: string, err: unknown): AppError {
  const code = (err as { code?: string }).code;
  return new AppError('FG_FLUSH_IO', `${what}: ${code ?? (err as Error).message}`, { cause: err });
}
