/**
 * URL path → document path inside a docroot. Pure; the traversal guard of the serving path.
 *
 * A cached file for URL path P lives at `docroot + P`, exactly (contract section 3), so the
 * decoded path is checked segment by segment before it is ever joined to a docroot.
 */
import path from 'node:path';

export type DocPathResult =
  | { ok: true; docPath: string }
  | { ok: false; reason: string };

/**
 * Any C0 control character, DEL, or a Unicode line or paragraph separator. With these refused,
 * a regex `.` (which stops at line terminators in JavaScript) is "any character" on every
 * document path, as a Dispatcher regex or glob reads it (rule values, src/farms/match.ts).
 */
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * Decodes a raw request path once and validates it. Rejects encoded slashes and backslashes,
 * NUL and control characters, `.` and `..` segments and empty segments (`//`), which
 * would either escape the docroot or give one file two names.
 */
export function toDocPath(rawPath: string): DocPathResult {
  return decodeDocPath(rawPath, { rejectEncodedSlash: true });
}

/**
 * Decodes once and validates (handleProblem). URLs refuse encoded slashes outright (one file must
 * not have two names); flush handles may carry them, since whatever they decode to is checked.
 */
export function decodeDocPath(rawPath: string, opts: { rejectEncodedSlash: boolean }): DocPathResult {
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'path is not absolute' };
  if (opts.rejectEncodedSlash && /%2f|%5c/i.test(rawPath)) return { ok: false, reason: 'encoded slash in path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: 'malformed percent-encoding' };
  }
  const problem = handleProblem(decoded);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, docPath: decoded };
}

/**
 * Why a decoded absolute path may not be used inside a docroot, or undefined when it may.
 * Shared by the serving path and flush handles.
 */
export function handleProblem(decoded: string): string | undefined {
  if (!decoded.startsWith('/')) return 'path is not absolute';
  if (decoded.includes('\\')) return 'backslash in path';
  if (decoded.includes('\0')) return 'NUL byte in path';
  if (CONTROL.test(decoded)) return 'control character in path';
  const segments = decoded.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '..' || s === '.') return `"${s}" segment in path`;
    if (s === '' && i < segments.length - 1) return 'empty segment in path';
  }
  return undefined;
}

/**
 * Joins a validated document path to a docroot. Throws if the result would leave the docroot
 * (it cannot for a path that passed handleProblem; this is the belt to those braces).
 */
export function joinDocroot(docroot: string, docPath: string): string {
  const full = path.join(docroot, docPath);
  if (full !== docroot && !full.startsWith(docroot.endsWith(path.sep) ? docroot : docroot + path.sep)) {
    throw new Error(`path ${JSON.stringify(docPath)} escapes docroot`);
  }
  return full;
}

/** Names farmgate writes beside cached files; a request for one of them gets 404. */
export const TMP_MARKER = '.fgtmp-';

/**
 * True when the document path names a file farmgate keeps for itself: `.stat`, a `.h` or `.ttl`
 * sidecar, or a temporary file.
 */
export function isInternalName(docPath: string): boolean {
  const base = docPath.slice(docPath.lastIndexOf('/') + 1);
  return base === '.stat' || base.endsWith('.h') || base.endsWith('.ttl') || docPath.includes('/' + TMP_MARKER);
}
