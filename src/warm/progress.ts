/** Progress and summary lines for `farmgate warm`. */
import type { WarmSummary } from './run.js';

const WIDTH = 30;

/** `[#########-----------]  12/40  hit 3 miss 9 err 0` (redrawn with `\r` on a TTY). */
export function progressLine(done: number, total: number, counts: { hit: number; miss: number; errors: number }): string {
  const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
  const n = String(total).length;
  return `[${bar}] ${String(done).padStart(n)}/${total}  hit ${counts.hit} miss ${counts.miss} err ${counts.errors}`;
}

/** `warmed N urls: H hit, M miss, P pass, E errors in Xs`. */
export function summaryLine(s: WarmSummary): string {
  const stale = s.stale > 0 ? `, ${s.stale} stale` : '';
  return `warmed ${s.results.length} urls: ${s.hit} hit, ${s.miss} miss, ${s.pass} pass${stale}, ${s.errors} errors in ${(s.ms / 1000).toFixed(1)}s`;
}
