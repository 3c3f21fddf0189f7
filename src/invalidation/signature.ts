/**
 * Request signatures: HMAC-SHA256 checks, all compared in constant time (crypto.timingSafeEqual),
 * so a forger learns nothing from how long a refusal takes (peers §3.8). Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-farmgate-signature';

export type Check = { ok: true } | { ok: false; reason: string };

export function hmacSha256(secret: string, data: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** Constant-time equality of two byte strings (false, quickly, when the lengths differ). */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time equality of two secrets given as text. */
export function sameSecret(given: string, expected: string): boolean {
  return sameBytes(Buffer.from(given, 'utf8'), Buffer.from(expected, 'utf8'));
}

/** The one value of a header, or why there is none (absent, or sent twice). */
export function singleHeader(value: string | string[] | undefined, name: string): { ok: true; value: string } | { ok: false; reason: string } {
  if (value === undefined || value === '') return { ok: false, reason: `missing ${name} header` };
  if (Array.isArray(value)) return value.length === 1 ? { ok: true, value: value[0]! } : { ok: false, reason: `more than one ${name} header` };
  return { ok: true, value };
}

/**
 * `X-Farmgate-Signature: sha256=<hex HMAC-SHA256 of the exact body>` (contract section 4a): the
 * bytes as received, never a re-serialisation.
 *
 * @example verifyBodySignature(body, `sha256=${hmacSha256(secret, body).toString('hex')}`, secret) // { ok: true }
 */
export function verifyBodySignature(body: Buffer, header: string | string[] | undefined, secret: string): Check {
  const h = singleHeader(header, 'X-Farmgate-Signature');
  if (!h.ok) return h;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(h.value.trim());
  if (!m) return { ok: false, reason: 'X-Farmgate-Signature must be sha256=<64 hex digits>' };
  return sameBytes(Buffer.from(m[1]!, 'hex'), hmacSha256(secret, body)) ? { ok: true } : { ok: false, reason: 'signature does not match the body' };
}

/** The header value a sender puts on a body (the CLI and the README's openssl example). */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${hmacSha256(secret, body).toString('hex')}`;
}

/**
 * A signed time: within `maxAgeMs` of now in either direction (a clock a little ahead is fine;
 * a request from the past is a replay).
 */
export function checkTimestamp(ms: number, now: number, maxAgeMs: number): Check {
  if (!Number.isFinite(ms)) return { ok: false, reason: 'invalid timestamp' };
  const age = now - ms;
  if (age > maxAgeMs) return { ok: false, reason: `signed ${Math.round(age / 1000)} s ago (more than ${maxAgeMs / 1000} s): replayed or delayed` };
  if (-age > maxAgeMs) return { ok: false, reason: `signed ${Math.round(-age / 1000)} s in the future (clock skew over ${maxAgeMs / 1000} s)` };
  return { ok: true };
}
