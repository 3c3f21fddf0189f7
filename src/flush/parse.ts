/**
 * A flush request's headers and body → FlushRequest, or the AppError to answer with. Pure.
 *
 * Contract section 4 and the flush agent's headers (reference §1.2): `CQ-Action` (`Activate`,
 * `Deactivate`, `Delete`, `Test`; case-insensitive; missing = `Activate`; anything else → 400),
 * `CQ-Handle` (the path to act on; missing → `CQ-Path`), `CQ-Path` (the routing key; missing →
 * `CQ-Handle`), optional `CQ-Action-Scope: ResourceOnly`. Neither handle header → 400.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { decodeDocPath, toDocPath } from '../cache/doc-path.js';
import { AppError } from '../errors.js';
import { FLUSH_ACTIONS, type FlushAction, type FlushRequest, type FlushScope } from './types.js';

export type ParseResult = { ok: true; flush: FlushRequest } | { ok: false; error: AppError };

export interface ParseLimits {
  /** `server.limits.refetchUris`: more URIs in one body → 413. */
  readonly refetchUris: number;
}

/** `activate` → `Activate`; undefined for anything that is not a flush action. */
export function parseAction(raw: string | undefined): FlushAction | undefined {
  if (raw === undefined || raw.trim() === '') return 'Activate';
  const v = raw.trim().toLowerCase();
  return FLUSH_ACTIONS.find((a) => a.toLowerCase() === v);
}

/**
 * `CQ-Action-Scope`: `ResourceOnly` (any case) or absent. Any other value is refused with 400
 * rather than ignored: a flush agent configured to be resource-only must never touch `.stat`
 * files because of a typo in its header.
 */
export function parseScope(raw: string | undefined): FlushScope | AppError {
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw.trim().toLowerCase() === 'resourceonly') return 'ResourceOnly';
  return new AppError('FG_FLUSH_BAD_SCOPE', `unknown CQ-Action-Scope ${JSON.stringify(raw)} (expected ResourceOnly)`);
}

/**
 * A handle as sent → the document path it names, or why it is refused. "A handle must be an
 * absolute path; after percent-decoding it must not contain a `..` or `.` segment, a backslash,
 * or a NUL byte" (contract section 4); control characters and `//` are refused too. Decoded
 * exactly once, so `%252e%252e` stays the harmless literal `%2e%2e`.
 *
 * @example parseHandle('/content/site/en/') // { ok: true, handle: '/content/site/en' }
 */
export function parseHandle(raw: string): { ok: true; handle: string } | { ok: false; reason: string } {
  const r = decodeDocPath(raw.trim(), { rejectEncodedSlash: false });
  if (!r.ok) return r;
  const decoded = r.docPath;
  const handle = decoded.length > 1 && decoded.endsWith('/') ? decoded.slice(0, -1) : decoded;
  return { ok: true, handle };
}

/** Parses and validates a flush request; the body is only read for invalidate-and-refetch. */
export function parseFlush(headers: IncomingHttpHeaders, body: Buffer, limits: ParseLimits): ParseResult {
  const fail = (error: AppError): ParseResult => ({ ok: false, error });
  const actionHeader = header(headers, 'cq-action');
  const action = parseAction(actionHeader);
  if (!action) {
    return fail(new AppError('FG_FLUSH_BAD_ACTION', `unknown CQ-Action ${JSON.stringify(actionHeader)} (expected Activate, Deactivate, Delete or Test)`));
  }
  const scope = parseScope(header(headers, 'cq-action-scope'));
  if (scope instanceof AppError) return fail(scope);

  const rawHandle = nonEmpty(header(headers, 'cq-handle'));
  const rawPath = nonEmpty(header(headers, 'cq-path'));
  const handleText = rawHandle ?? rawPath;
  const keyText = rawPath ?? rawHandle;
  if (handleText === undefined || keyText === undefined) return fail(new AppError('FG_FLUSH_NO_HANDLE'));
  const handle = parseHandle(handleText);
  if (!handle.ok) return fail(new AppError('FG_FLUSH_BAD_HANDLE', `invalid CQ-Handle ${JSON.stringify(handleText)}: ${handle.reason}`));
  const key = parseHandle(keyText);
  if (!key.ok) return fail(new AppError('FG_FLUSH_BAD_HANDLE', `invalid CQ-Path ${JSON.stringify(keyText)}: ${key.reason}`));

  let refetch: string[] = [];
  // "Invalidate-and-refetch: `CQ-Action: Activate` with `Content-Type: text/plain` and one URI
  //  per line in the body" (contract section 4). Other actions and content types: body ignored.
  if (action === 'Activate' && isTextPlain(header(headers, 'content-type')) && body.length > 0) {
    const parsed = parseRefetchBody(body.toString('utf8'), limits);
    if (parsed instanceof AppError) return fail(parsed);
    refetch = parsed;
  }
  return { ok: true, flush: { action, scope, handle: handle.handle, routingKey: key.handle, refetch } };
}

/**
 * One URI per line (LF or CRLF), blank lines ignored. A line is an absolute path with an optional
 * query string (Dispatcher 4.3.3+, DISP-826) or an http(s) URL, of which path and query are kept.
 * The path must be a valid document path; the whole flush is refused (400) otherwise, before
 * anything is touched.
 */
export function parseRefetchBody(text: string, limits: ParseLimits): string[] | AppError {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length > limits.refetchUris) {
    return new AppError('FG_FLUSH_TOO_MANY_URIS', `too many refetch URIs: ${lines.length} (limit ${limits.refetchUris})`);
  }
  const out: string[] = [];
  for (const line of lines) {
    const uri = refetchUri(line);
    if (uri === undefined) return new AppError('FG_FLUSH_BAD_URI', `invalid refetch URI ${JSON.stringify(line.slice(0, 200))}`);
    out.push(uri);
  }
  return out;
}

function refetchUri(line: string): string | undefined {
  let target = line;
  if (/^https?:\/\//i.test(line)) {
    try {
      const url = new URL(line);
      target = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const pathPart = q >= 0 ? target.slice(0, q) : target;
  if (/\s/.test(target) || !toDocPath(pathPart).ok) return undefined;
  return target;
}

function isTextPlain(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'text/plain';
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/**
 * A header's value. Node reads header bytes as latin1; a flush agent sends a non-ASCII handle
 * as raw UTF-8, so such values are re-read as UTF-8.
 */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v.join(', ') : v;
  if (s === undefined || !/[\u0080-\u00ff]/.test(s)) return s;
  return Buffer.from(s, 'latin1').toString('utf8');
}
