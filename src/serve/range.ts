/**
 * Range requests on cached files (RFC 9110 §14): one byte range is answered 206, an unsatisfiable
 * one 416, anything else (several ranges, a malformed header, If-Range not matching) the whole
 * file. The front servers answer the simple satisfiable ranges themselves and hand every other
 * Range request to farmgate (src/front/lua/farmgate_hit.lua simple_range), so this is the one
 * answer for those. Pure.
 */

export type RangeDecision =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeDecision = Object.freeze({ kind: 'full' });
const UNSATISFIABLE: RangeDecision = Object.freeze({ kind: 'unsatisfiable' });

/**
 * The answer to `Range: value` for a file of `size` bytes. `end` is inclusive.
 * "A server MAY ignore the Range header field" (§14.2): so do we for several ranges and for
 * anything malformed.
 */
export function decideRange(value: string | undefined, size: number): RangeDecision {
  if (value === undefined) return FULL;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(value.trim());
  if (!m) return FULL;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return FULL;
  if (a === '') {
    // suffix: the last n bytes
    const n = Number(b);
    if (n === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return FULL;
  if (start >= size) return UNSATISFIABLE;
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return { kind: 'partial', start, end };
}

/**
 * Does `If-Range` allow the range (§13.1.5)? An entity tag must match the stored ETag strongly
 * (a weak tag never does); a date must equal the stored Last-Modified exactly.
 */
export function ifRangeMatches(ifRange: string | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return etag !== undefined && !v.startsWith('W/') && !etag.startsWith('W/') && v === etag.trim();
  return lastModified !== undefined && v === lastModified.trim();
}
