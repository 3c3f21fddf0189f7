/**
 * Header handling between client, farmgate and render. Pure.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) are connection-specific and never forwarded, in either
 * direction, nor are the headers the Connection header names.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP, isSetByFarmgate } from '../header-names.js';

/** Request headers that would make the render answer something we cannot store (304, 206, gzip). */
const NOT_FOR_CACHE_FILLS = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'accept-encoding',
]);

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const v = headers['connection'];
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return new Set(s.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

export interface ForwardContext {
  /** TCP peer address of the incoming request. */
  readonly peer: string;
  /** Is the peer a trusted proxy (its X-Forwarded-* are believed)? */
  readonly peerTrusted: boolean;
  /** A cache fill: strip conditional, range and encoding negotiation headers. */
  readonly cacheFill: boolean;
  /**
   * The farm's `clientHeaders` (lower-case): only these request headers reach the render, plus
   * the ones farmgate sets; undefined = all but hop-by-hop (`"*"`).
   */
  readonly clientHeaders?: ReadonlySet<string> | undefined;
}

/**
 * Headers for the render request: the client's that `clientHeaders` names (all with `"*"`),
 * minus hop-by-hop, plus X-Forwarded-For (the incoming chain with the client address appended),
 * X-Forwarded-Host, X-Forwarded-Proto and `Server-Agent: Communique-Dispatcher`, which AEM code
 * keys on. A request body's `Content-Length` is framing, which farmgate always sets.
 */
export function renderRequestHeaders(incoming: IncomingHttpHeaders, ctx: ForwardContext): Record<string, string | string[]> {
  const drop = connectionTokens(incoming);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue;
    if (ctx.cacheFill && NOT_FOR_CACHE_FILLS.has(name)) continue;
    if (name.startsWith('x-forwarded-') || name === 'server-agent') continue;
    if (ctx.clientHeaders && !ctx.clientHeaders.has(name) && name !== 'content-length') continue;
    out[name] = value;
  }
  const xff = incoming['x-forwarded-for'];
  const chain = (Array.isArray(xff) ? xff.join(', ') : xff)?.trim();
  out['x-forwarded-for'] = chain ? `${chain}, ${ctx.peer}` : ctx.peer;
  const fHost = ctx.peerTrusted ? first(incoming['x-forwarded-host']) : undefined;
  const host = incoming.host;
  if (fHost ?? host) out['x-forwarded-host'] = (fHost ?? host)!;
  const fProto = ctx.peerTrusted ? first(incoming['x-forwarded-proto']) : undefined;
  out['x-forwarded-proto'] = fProto === 'https' ? 'https' : 'http';
  out['server-agent'] = 'Communique-Dispatcher';
  return out;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/**
 * Render response headers for the client: minus hop-by-hop and the `Dispatcher` header, which
 * "never reaches the client" (contract section 3), `X-Accel-*` when farmgate itself uses
 * X-Accel-Redirect, and the names in `hide` (cache tag headers, contract section 4a).
 */
export function clientResponseHeaders(fromRender: IncomingHttpHeaders, opts: { stripAccel?: boolean; hide?: ReadonlySet<string> } = {}): OutgoingHttpHeaders {
  const drop = connectionTokens(fromRender);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(fromRender)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name) || name === 'dispatcher') continue;
    // Cache tag headers, unless `exposeTags` (tags/headers.ts).
    if (opts.hide?.has(name)) continue;
    // With server.accelRedirect, nginx has an internal location on the docroots: a render must
    // not be able to point it at farmgate's files (`.h`, `.stat`) with its own X-Accel-*.
    if (opts.stripAccel && name.startsWith('x-accel-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The headers to store in `.h`: those the farm lists, in the render's spelling order, never one
 * farmgate sets itself on the replayed response (`Content-Length`, hop-by-hop, `X-Cache`).
 */
export function headersToStore(fromRender: IncomingHttpHeaders, stored: ReadonlySet<string>): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(fromRender)) {
    if (!stored.has(name) || value === undefined || isSetByFarmgate(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}
