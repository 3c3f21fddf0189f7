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

/**
 * `7 urls: 4 hit, 1 miss, 0 pass, 2 not warmed (1 invalid, 1 failed) in 0.3s`: every entry of the
 * input is counted once, so the parts always add up to the first number (an input line that is
 * not a usable URL is "invalid"; a request that failed or got a status of 400 and above "failed").
 */
export function summaryLine(s: WarmSummary, invalid = 0): string {
  const stale = s.stale > 0 ? `, ${s.stale} stale` : '';
  const notWarmed = s.errors + invalid;
  const parts = [invalid > 0 ? `${invalid} invalid` : '', s.errors > 0 ? `${s.errors} failed` : ''].filter(Boolean);
  const why = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  const total = s.results.length + invalid;
  return `${total} url${total === 1 ? '' : 's'}: ${s.hit} hit, ${s.miss} miss, ${s.pass} pass${stale}, ${notWarmed} not warmed${why} in ${(s.ms / 1000).toFixed(1)}s`;
}
