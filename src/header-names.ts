/**
 * Header names with a fixed meaning for farmgate.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) are connection-specific: never forwarded, in either
 * direction. `Content-Length` is set by farmgate for every response it writes, so a stored copy
 * must never be replayed beside it: two `Content-Length`s make a response that clients reject and
 * nginx answers with 502 (RFC 9112 §6.3).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Lower-case names a cached response must never carry from its `.h` file: farmgate writes each
 * of them itself (framing, connection handling, `X-Cache`), so a stored copy would be a second one.
 */
export const SET_BY_FARMGATE: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length', 'x-cache']);

export const isSetByFarmgate = (name: string) => SET_BY_FARMGATE.has(name.toLowerCase());
