/**
 * A file's mtime in whole milliseconds. Times are set with utimes() from millisecond values and
 * read back through floating-point seconds (…009.999 for …010), so every comparison with a time
 * farmgate set (render start, flush time) uses this rounding.
 */
export function msOf(st: { mtimeMs: number }): number {
  return Math.round(st.mtimeMs);
}
